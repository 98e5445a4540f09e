"""``python -m mmtrain``: what launchers run (``torchrun -m mmtrain run ...``, ``deepspeed --module mmtrain run ...``)."""

from mmtrain.cli import main

main()
