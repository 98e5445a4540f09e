"""``python -m mmtrain``: what launchers run (``torchrun -m mmtrain run ...``, ``deepspeed --module mmtrain run ...``)."""

from cli_train import main

main()
