"""``chat``: talk to a trained model, several turns, images and audio attached to any turn.

A line may attach media where they stand: ``@image:photo.jpg what is this?`` or
``compare @audio:a.ogg and @audio:b.ogg``; they become ``<image>`` / ``<audio>`` placeholders.
The whole conversation, media included, is the prompt of every turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mmtrain.errors import ConfigError, DataError
from mmtrain.tokens import AUDIO, IMAGE

_ATTACHMENT = re.compile(r"@(image|audio):(\S+)")


def parse_turn(line: str) -> tuple[str, list[str], list[str]]:
    """``(text with placeholders, image paths, audio paths)`` of a typed line."""
    images, audios = [], []

    def swap(match: re.Match) -> str:
        kind, path = match.group(1), match.group(2)
        if not Path(path).is_file():
            raise DataError(f"no such {kind} file: {path}")
        (images if kind == "image" else audios).append(path)
        return IMAGE if kind == "image" else AUDIO

    return _ATTACHMENT.sub(swap, line).strip(), images, audios


@dataclass
class Conversation:
    """The state of a chat: messages so far and their media in placeholder order."""

    messages: list = field(default_factory=list)
    images: list = field(default_factory=list)
    audios: list = field(default_factory=list)


class ChatModel:
    """A model folder loaded for generation (``temperature`` 0 means greedy)."""

    def __init__(self, model_dir: str | Path, device: str | None = None, system: str | None = None):
        import torch

        from mmtrain.model.modeling import load_parts

        if not (Path(model_dir) / "config.json").exists():
            raise ConfigError(f"{model_dir} is not a model folder (no config.json); give the output_dir of `mmtrain run`")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model, self.tokenizer, self.image_processor, self.feature_extractor = load_parts(model_dir)
        self.model.to(self.device).eval()
        self.layout = self.model.config.media_layout()
        self.system = system

    def reply(
        self,
        conversation: Conversation,
        max_new_tokens: int = 300,
        temperature: float = 0.1,
        top_p: float = 0.95,
        top_k: int = 50,
    ) -> str:
        """The assistant's answer to the conversation as it stands (the reference's sampling defaults)."""
        import torch

        from mmtrain.data.media import media_inputs
        from mmtrain.data.template import encode_prompt

        inputs, samples = media_inputs(
            conversation.images, conversation.audios, self.image_processor, self.feature_extractor, self.layout
        )
        messages = ([{"role": "system", "content": self.system}] if self.system else []) + conversation.messages
        ids = encode_prompt(messages, self.tokenizer, self.layout, samples)
        input_ids = torch.tensor([ids], device=self.device)
        sampling = (
            {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k}
            if temperature > 0
            else {"do_sample": False}
        )
        with torch.no_grad():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                **{k: v.to(self.device) for k, v in inputs.items()},
                pad_token_id=self.tokenizer.pad_token_id,
                **sampling,
            )
        return self.tokenizer.decode(out[0, input_ids.shape[1] :], skip_special_tokens=True).strip()


def chat(
    model_dir: str | Path, lines: Iterable[str], device: str | None = None, system: str | None = None, **generation
) -> Iterator[str]:
    """Answer each user line in turn (one conversation); lines attach media with ``@image:`` / ``@audio:``.

    For example ``chat("runs/tiny/finetune", ["@image:cat.png What is this?", "And in Malay?"])``
    yields two answers, the second knowing the first.
    """
    if not generation.get("temperature", 0) >= 0:
        raise ConfigError(f"--temperature must be 0 (greedy) or more, not {generation['temperature']:g}")
    if not generation.get("max_new_tokens", 1) >= 1:
        raise ConfigError(f"--max-new-tokens must be at least 1, not {generation['max_new_tokens']}")
    model = ChatModel(model_dir, device, system)
    conversation = Conversation()
    for line in lines:
        text, images, audios = parse_turn(line)
        if not text:
            continue
        conversation.messages.append({"role": "user", "content": text})
        conversation.images += images
        conversation.audios += audios
        answer = model.reply(conversation, **generation)
        conversation.messages.append({"role": "assistant", "content": answer})
        yield answer
