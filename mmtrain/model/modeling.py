"""``MmForCausalLM``: any causal LM + a SigLIP vision tower + a Whisper encoder, joined by projectors.

The text carries ``<image>`` + N x ``<|image_pad|>`` + ``</image>`` (likewise for audio; N comes from
``MmConfig.media_layout()``); ``forward`` writes the projected features over the pad positions, in
order, then runs the LLM on the embeddings. One folder holds everything (``save_parts``):

    config.json, model.safetensors          the composed model
    tokenizer files                         with the placeholder tokens added
    preprocessor_config.json                the SigLIP image processor
    audio_processor/preprocessor_config.json the Whisper feature extractor (in a subfolder because
                                            both processors write ``preprocessor_config.json``)

Written for transformers 5 (``cache`` is the new name of ``past_key_values``; both are accepted).
"""

from __future__ import annotations

import json
import math
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationMixin,
    PreTrainedModel,
    SiglipModel,
    SiglipVisionModel,
    WhisperFeatureExtractor,
    WhisperModel,
)
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from mmtrain.config import PARTS
from mmtrain.errors import ConfigError, DataError
from mmtrain.model.config import TOKEN_ID_FIELDS, MmConfig
from mmtrain.model.projectors import AudioProjector, VisionProjector
from mmtrain.tokens import HOP_LENGTH, SPECIAL_TOKENS

AUDIO_SUBFOLDER = "audio_processor"
_PART_ATTR = {"llm": "language_model"}


def image_processor_class():
    """SigLIP's image processor without torchvision (transformers 5 splits it into a PIL backend)."""
    try:
        from transformers import SiglipImageProcessorPil

        return SiglipImageProcessorPil
    except ImportError:  # transformers 4
        from transformers import SiglipImageProcessor

        return SiglipImageProcessor


def _no_grad_if_frozen(module: nn.Module):
    # a frozen encoder needs no activations kept for backward: the biggest memory saving of stage 1
    return torch.no_grad() if not any(p.requires_grad for p in module.parameters()) else nullcontext()


class MmForCausalLM(PreTrainedModel, GenerationMixin):
    """LLaVA-style model: ``language_model`` (AutoModelForCausalLM), ``vision_tower`` (SiglipVisionModel),
    ``audio_encoder`` (WhisperEncoder), ``vision_projector``, ``audio_projector``.

    Build a new one with ``from_components``; reload a saved one with ``from_pretrained`` / ``load_parts``.
    """

    config_class = MmConfig
    config: MmConfig
    base_model_prefix = "mm"  # no checkpoint key starts with it: nothing gets stripped on load
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["VisionProjector", "AudioProjector"]  # post_init adds the three sub-models' own
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True

    def __init__(self, config: MmConfig, language_model=None, vision_tower=None, audio_encoder=None):
        super().__init__(config)
        prebuilt = [m for m in (language_model, vision_tower, audio_encoder) if m is not None]
        self.language_model = (
            language_model if language_model is not None else AutoModelForCausalLM.from_config(config.text_config)
        )
        self.vision_tower = vision_tower if vision_tower is not None else SiglipVisionModel(config.vision_config)
        self.audio_encoder = audio_encoder if audio_encoder is not None else WhisperEncoder(config.audio_config)
        # one config object per part, so e.g. resize_token_embeddings shows up in config.json
        config.text_config = self.language_model.config
        config.vision_config = self.vision_tower.config
        config.audio_config = self.audio_encoder.config
        for sub in (config.text_config, config.vision_config, config.audio_config):
            if sub._attn_implementation is None:  # no implementation means no causal mask at all
                sub._attn_implementation = config._attn_implementation
        hidden = config.text_config.hidden_size
        self.vision_projector = VisionProjector(config.vision_config.hidden_size, hidden)
        self.audio_projector = AudioProjector(config.audio_config.d_model, hidden, config.audio_kernel, config.audio_stride)
        for part in prebuilt:  # loaded weights: post_init must not re-initialise them
            for module in part.modules():
                module._is_hf_initialized = True
        self.post_init()

    # --- delegation to the LLM -------------------------------------------------------------------
    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.language_model.get_output_embeddings()

    def set_output_embeddings(self, value):
        self.language_model.set_output_embeddings(value)

    def _set_gradient_checkpointing(self, enable: bool = True, gradient_checkpointing_func=None, **kwargs):
        # Only the LLM: frozen encoders run under no_grad, where checkpointing saves nothing.
        # Both gradient_checkpointing_enable and activation_checkpointing_enable end up here.
        if gradient_checkpointing_func is None:
            self.language_model._set_gradient_checkpointing(enable=enable, **kwargs)
        else:
            self.language_model._set_gradient_checkpointing(enable, gradient_checkpointing_func, **kwargs)

    # --- building --------------------------------------------------------------------------------
    @classmethod
    def from_components(cls, llm, vision, audio, tokenizer=None, *, dtype=None, attn_implementation=None, **config_overrides):
        """Compose a new model from a causal LM, a SigLIP and a Whisper model; returns ``(model, tokenizer)``.

        Each of ``llm``/``vision``/``audio`` is a hub id, a local folder or an already-built module
        (``vision``: SiglipVisionModel or SiglipModel; ``audio``: WhisperEncoder, WhisperModel or
        WhisperForConditionalGeneration). ``tokenizer`` defaults to the LLM's (required when ``llm``
        is a module). The placeholder tokens are added to the tokenizer, the LLM's embeddings grown
        and the ids stored in the config. ``config_overrides`` set MmConfig fields (e.g. ``audio_kernel``).
        """
        load = {k: v for k, v in (("dtype", dtype), ("attn_implementation", attn_implementation)) if v is not None}
        if isinstance(llm, (str, Path)):
            tokenizer = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(str(llm))
            llm = AutoModelForCausalLM.from_pretrained(str(llm), **load)
        if tokenizer is None:
            raise ConfigError("from_components: pass tokenizer= when llm is an already-built model")
        if isinstance(tokenizer, (str, Path)):
            tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))
        if isinstance(vision, (str, Path)):
            vision = SiglipVisionModel.from_pretrained(str(vision), **load)  # reads a full SiglipModel folder too
        elif isinstance(vision, SiglipModel):
            vision = vision.vision_model
        if isinstance(audio, (str, Path)):
            audio = WhisperModel.from_pretrained(str(audio), **load)  # any Whisper checkpoint: keys under model.
        if not isinstance(audio, WhisperEncoder):
            audio = audio.get_encoder()
        if getattr(vision, "use_head", False):
            # SigLIP's pooling head is never used here: drop it so it holds no memory and no gradient-less params
            del vision.head
            vision.use_head = vision.config.vision_use_head = False

        # attn_implementation={} keeps each part's own attention (None would wipe it on the shared configs)
        config = MmConfig(
            text_config=llm.config,
            vision_config=vision.config,
            audio_config=audio.config,
            attn_implementation={},
            **config_overrides,
        )
        model = cls(config, language_model=llm, vision_tower=vision, audio_encoder=audio)
        model.vision_projector.to(llm.dtype)
        model.audio_projector.to(llm.dtype)
        model.generation_config = llm.generation_config
        if model.generation_config.pad_token_id is None:
            model.generation_config.pad_token_id = tokenizer.pad_token_id
        if model.generation_config.eos_token_id is None:
            model.generation_config.eos_token_id = tokenizer.eos_token_id
        add_media_tokens(model, tokenizer)
        return model, tokenizer

    # --- forward ---------------------------------------------------------------------------------
    def image_embeddings(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(N_img, 3, H, W) -> (N_img * patches, hidden): projected vision features, image after image."""
        with _no_grad_if_frozen(self.vision_tower):
            out = self.vision_tower(pixel_values=pixel_values.to(self.vision_tower.dtype), output_hidden_states=True)
            features = out.hidden_states[self.config.vision_feature_layer]
        proj = self.vision_projector(features.to(self.vision_projector.linear_1.weight.dtype))
        return proj.flatten(0, 1)

    def audio_embeddings(self, audio_features: torch.Tensor, audio_window_samples: torch.Tensor) -> torch.Tensor:
        """(N_win, n_mels, 2 * max_source_positions) mels + valid samples per window -> (tokens, hidden).

        Only the frames of real audio go through the projector, so each window yields
        ``mmtrain.tokens.window_tokens(samples, kernel, stride)`` tokens (proportional to its length).
        """
        kernel, positions = self.config.audio_kernel, self.config.audio_config.max_source_positions
        samples = [int(n) for n in audio_window_samples.tolist()]
        if len(samples) != audio_features.shape[0]:
            raise DataError(f"{audio_features.shape[0]} audio windows but {len(samples)} audio_window_samples")
        frames = [max(math.ceil(n / (2 * HOP_LENGTH)), kernel) for n in samples]
        if max(frames) > positions:
            raise DataError(f"an audio window holds {max(samples)} samples; at most {positions * 2 * HOP_LENGTH} fit")
        with _no_grad_if_frozen(self.audio_encoder):
            out = self.audio_encoder(input_features=audio_features.to(self.audio_encoder.dtype), output_hidden_states=True)
            hidden = out.hidden_states[self.config.audio_feature_layer]
        hidden = hidden.to(self.audio_projector.conv.weight.dtype)
        per_window = [None] * len(frames)
        for length in set(frames):  # windows of one length (e.g. all full ones) go through as one batch
            index = [i for i, f in enumerate(frames) if f == length]
            for i, proj in zip(index, self.audio_projector(hidden[index, :length])):
                per_window[i] = proj
        return torch.cat(per_window)

    @staticmethod
    def _scatter(input_ids, inputs_embeds, pad_id, features, what):
        mask = input_ids == pad_id
        positions = int(mask.sum())
        if positions != features.shape[0]:
            raise DataError(
                f"{positions} {what} pad positions in the batch but {features.shape[0]} {what} "
                f"feature vectors: the text and the media disagree"
            )
        return inputs_embeds.masked_scatter(
            mask.unsqueeze(-1).to(inputs_embeds.device), features.to(inputs_embeds.device, inputs_embeds.dtype)
        )

    def _unused_projector_loss(self, images: bool, audio: bool):
        # A projector that saw no media this batch still has to get a (zero) gradient every step, or
        # DDP / DeepSpeed ZeRO stall waiting for it. This replaces the reference's dummy image + 10 s
        # silence prefixed to every sample (~1065 wasted positions). A zero input run through the
        # projector (rather than summing its parameters) also works under ZeRO-3, which gathers
        # partitioned parameters only inside a module's forward.
        extra = 0.0
        for used, proj, width in (
            (images, self.vision_projector, self.config.vision_config.hidden_size),
            (audio, self.audio_projector, self.config.audio_config.d_model),
        ):
            if not used and any(p.requires_grad for p in proj.parameters()):
                p = next(proj.parameters())
                length = self.config.audio_kernel if proj is self.audio_projector else 1
                extra = extra + 0.0 * proj(torch.zeros(1, length, width, device=p.device, dtype=p.dtype)).sum()
        return extra

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        position_ids=None,
        labels=None,
        pixel_values=None,
        audio_features=None,
        audio_window_samples=None,
        past_key_values=None,
        inputs_embeds=None,
        use_cache=None,
        cache=None,
        **kwargs,
    ):
        """Embed ``input_ids``, write image/audio features over the pad positions, run the LLM.

        ``pixel_values`` (N_img, 3, H, W) fill the ``<|image_pad|>`` positions, ``audio_features``
        (N_win, n_mels, 2 * max_source_positions) with ``audio_window_samples`` (N_win,) fill the
        ``<|audio_pad|>`` positions, both in order across the whole batch. Packed rows: pass
        ``position_ids`` restarting at 0 per sample and ``attention_mask=None``; transformers then
        masks block-diagonally. Returns the LLM's output (loss, logits, cache).
        """
        cache = cache if cache is not None else past_key_values
        has_media = pixel_values is not None or audio_features is not None
        if has_media and input_ids is None:
            raise ValueError("media need input_ids to find their pad positions")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        if pixel_values is not None:
            inputs_embeds = self._scatter(
                input_ids, inputs_embeds, self.config.image_pad_token_id, self.image_embeddings(pixel_values), "image"
            )
        if audio_features is not None:
            if audio_window_samples is None:
                raise ValueError("audio_features need audio_window_samples (valid samples per window)")
            inputs_embeds = self._scatter(
                input_ids,
                inputs_embeds,
                self.config.audio_pad_token_id,
                self.audio_embeddings(audio_features, audio_window_samples),
                "audio",
            )
        packed = attention_mask is None and position_ids is not None
        if use_cache is None and cache is None and (labels is not None or self.training or packed):
            use_cache = False  # a fresh cache would also turn off transformers' packed-sequence masking
        out = self.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            labels=labels,
            cache=cache,
            use_cache=use_cache,
            **kwargs,
        )
        if out.loss is not None:
            out.loss = out.loss + self._unused_projector_loss(pixel_values is not None, audio_features is not None)
        return out

    def prepare_inputs_for_generation(self, *args, is_first_iteration: bool | None = False, **kwargs):
        """Media go in on the prefill step only: later steps reuse the cache."""
        inputs = super().prepare_inputs_for_generation(*args, is_first_iteration=is_first_iteration, **kwargs)
        if not is_first_iteration and kwargs.get("use_cache", True):
            for key in ("pixel_values", "audio_features", "audio_window_samples"):
                inputs.pop(key, None)
        return inputs


def add_media_tokens(model: MmForCausalLM, tokenizer) -> dict[str, int]:
    """Add the placeholder tokens to ``tokenizer`` (as special tokens), grow the LLM's embeddings to
    fit and store the ids in ``model.config``. Returns token -> id."""
    try:
        tokenizer.add_special_tokens({"extra_special_tokens": SPECIAL_TOKENS}, replace_extra_special_tokens=False)
    except TypeError:  # transformers 4 names them "additional"
        tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS}, replace_additional_special_tokens=False)
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in SPECIAL_TOKENS}
    # some LLMs ship spare embedding rows (Qwen2: 151936 rows for ~151650 tokens): only ever grow
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.language_model.resize_token_embeddings(len(tokenizer))
    for tok, field in TOKEN_ID_FIELDS.items():
        setattr(model.config, field, ids[tok])
    return ids


def set_trainable(model: MmForCausalLM, parts: set[str]) -> dict[str, int]:
    """Train exactly ``parts`` (of "llm", "vision_tower", "audio_encoder", "vision_projector",
    "audio_projector") and freeze the rest. Returns part -> trainable parameter count."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ConfigError(f"unknown trainable part(s) {sorted(unknown)}; choose from {list(PARTS)}")
    counts = {}
    for part in PARTS:
        module = getattr(model, _PART_ATTR.get(part, part))
        module.requires_grad_(part in parts)
        counts[part] = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return counts


def _read_safetensors(folder: Path, prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    index = folder / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else ["model.safetensors"]
    tensors = {}
    for name in files:
        if not (folder / name).exists():
            raise ConfigError(f"{folder / name} not found: not a saved MmForCausalLM folder")
        with safe_open(str(folder / name), framework="pt") as f:
            tensors.update({k: f.get_tensor(k) for k in f.keys() if k.startswith(prefixes)})
    return tensors


def load_projectors(model: MmForCausalLM, folder, which: set[str]) -> list[str]:
    """Copy the ``which`` projectors ("vision_projector", "audio_projector") from a saved
    MmForCausalLM folder (e.g. stage-1 outputs) into ``model``; returns the keys copied."""
    unknown = set(which) - {"vision_projector", "audio_projector"}
    if unknown:
        raise ConfigError(f"load_projectors: unknown projector(s) {sorted(unknown)}")
    folder = Path(folder)
    prefixes = tuple(f"{name}." for name in sorted(which))
    saved = _read_safetensors(folder, prefixes)
    own = {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}
    missing = sorted(set(own) - set(saved))
    if missing:
        raise ConfigError(f"{folder} has no {missing[0]} (and {len(missing) - 1} more projector weights missing)")
    for key, value in saved.items():
        if key in own and own[key].shape != value.shape:
            raise ConfigError(
                f"{folder}: {key} has shape {tuple(value.shape)} but this model's is "
                f"{tuple(own[key].shape)} (different LLM or encoder?)"
            )
    with torch.no_grad():
        for key in own:
            own[key].copy_(saved[key])
    return sorted(own)


def save_parts(model: MmForCausalLM, tokenizer, image_processor, feature_extractor, out_dir) -> Path:
    """Save everything one folder needs: model + config (safetensors), tokenizer, image processor
    (``preprocessor_config.json``) and feature extractor (in ``audio_processor/``)."""
    out = Path(out_dir)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    if image_processor is not None:
        image_processor.save_pretrained(str(out))
    if feature_extractor is not None:
        feature_extractor.save_pretrained(str(out / AUDIO_SUBFOLDER))
    return out


def load_parts(folder, **model_kwargs):
    """Load ``(model, tokenizer, image_processor, feature_extractor)`` from a ``save_parts`` folder.
    ``model_kwargs`` go to ``from_pretrained`` (e.g. ``dtype``, ``attn_implementation``)."""
    folder = str(folder)
    model = MmForCausalLM.from_pretrained(folder, **model_kwargs)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    image_processor = image_processor_class().from_pretrained(folder)
    feature_extractor = WhisperFeatureExtractor.from_pretrained(str(Path(folder) / AUDIO_SUBFOLDER))
    return model, tokenizer, image_processor, feature_extractor


AutoConfig.register(MmConfig.model_type, MmConfig, exist_ok=True)
AutoModel.register(MmConfig, MmForCausalLM, exist_ok=True)
AutoModelForCausalLM.register(MmConfig, MmForCausalLM, exist_ok=True)
