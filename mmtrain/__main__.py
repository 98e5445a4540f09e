"""``python -m mmtrain``: what launchers run (``torchrun -m mmtrain run ...``, ``deepspeed --module mmtrain run ...``)."""

from cli import train_main

train_main()
