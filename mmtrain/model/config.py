"""``MmConfig``: the composed model's config: three sub-configs plus how media become LLM positions.

Written for transformers 5 (configs are dataclasses there): sub-configs are stored as dicts in
``config.json`` and rebuilt with the right config class (``AutoConfig`` by ``model_type`` for the
LLM, so any causal-LM family round-trips).
"""

from __future__ import annotations

from transformers import AutoConfig, PretrainedConfig, SiglipVisionConfig, WhisperConfig
from transformers.configuration_utils import SubConfigSpec

from mmtrain.tokens import AUDIO, AUDIO_END, AUDIO_PAD, IMAGE, IMAGE_END, IMAGE_PAD, MediaLayout

# config attribute holding each placeholder token's id (filled in by ``MmForCausalLM.from_components``)
TOKEN_ID_FIELDS = {
    IMAGE: "image_token_id",
    IMAGE_END: "image_end_token_id",
    IMAGE_PAD: "image_pad_token_id",
    AUDIO: "audio_token_id",
    AUDIO_END: "audio_end_token_id",
    AUDIO_PAD: "audio_pad_token_id",
}


class MmConfig(PretrainedConfig):
    """Config of ``MmForCausalLM``: ``text_config`` (any causal LM), ``vision_config`` (SigLIP vision),
    ``audio_config`` (Whisper; only its encoder is used), feature layers, the audio projector's
    Conv1d kernel/stride and the placeholder token ids (never hard-coded: looked up in the tokenizer).
    """

    model_type = "mmtrain"
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen2"),
        "vision_config": SubConfigSpec(config_class=SiglipVisionConfig),
        "audio_config": SubConfigSpec(config_class=WhisperConfig),
    }

    text_config: dict | PretrainedConfig | None = None
    vision_config: dict | PretrainedConfig | None = None
    audio_config: dict | PretrainedConfig | None = None
    vision_feature_layer: int = -2
    audio_feature_layer: int = -2
    audio_kernel: int = 40
    audio_stride: int = 3
    image_token_id: int | None = None
    image_end_token_id: int | None = None
    image_pad_token_id: int | None = None
    audio_token_id: int | None = None
    audio_end_token_id: int | None = None
    audio_pad_token_id: int | None = None
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        # the LLM ties (or not) its own head; mirror it so save/load code reading the top level agrees
        self.tie_word_embeddings = bool(getattr(self.text_config, "tie_word_embeddings", False))

    def media_layout(self) -> MediaLayout:
        """How many LLM positions an image / an audio clip takes with this model (see ``mmtrain.tokens``)."""
        v = self.vision_config
        return MediaLayout(
            image_tokens=(v.image_size // v.patch_size) ** 2,
            max_source_positions=self.audio_config.max_source_positions,
            kernel=self.audio_kernel,
            stride=self.audio_stride,
        )

    def token_ids(self) -> dict[str, int | None]:
        """Placeholder token string -> id, as stored in this config."""
        return {tok: getattr(self, field) for tok, field in TOKEN_ID_FIELDS.items()}
