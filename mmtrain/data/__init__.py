"""The data path: export folder -> records -> token ids and labels -> packed rows -> batches.

``records`` reads and validates an ``mmdata export --format mmtrain`` folder, ``template`` renders
conversations with media placeholders expanded, ``media`` loads images and audio windows,
``packing`` bins samples, ``dataset`` puts it together (``PackedDataset``, ``collate``).
"""
