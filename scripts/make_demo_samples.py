"""Regenerate the demo's sample media and records in mmdata/samples (run once; output is committed)."""

import json
import math
import struct
import wave
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "mmdata" / "samples"


def tone(path: Path, freqs: list[float], seconds: float, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        frames = bytearray()
        for n in range(int(seconds * rate)):
            t = n / rate
            f = freqs[int(t / seconds * len(freqs)) % len(freqs)]
            frames += struct.pack("<h", int(9000 * math.sin(2 * math.pi * f * t) * min(1, t * 20, (seconds - t) * 20)))
        w.writeframes(bytes(frames))


def picture(path: Path, background: str, shape: str, colour: str) -> None:
    image = Image.new("RGB", (64, 64), background)
    draw = ImageDraw.Draw(image)
    box = (14, 14, 50, 50)
    {"circle": draw.ellipse, "square": draw.rectangle}.get(shape, draw.ellipse)(box, fill=colour)
    if shape == "triangle":
        image = Image.new("RGB", (64, 64), background)
        ImageDraw.Draw(image).polygon([(32, 10), (54, 52), (10, 52)], fill=colour)
    image.save(path, optimize=True)


def jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    (OUT / "images").mkdir(parents=True, exist_ok=True)
    (OUT / "audio").mkdir(parents=True, exist_ok=True)
    picture(OUT / "images" / "nasi-lemak.png", "white", "circle", "#2e8b57")
    picture(OUT / "images" / "wau-bulan.png", "#87ceeb", "triangle", "#c0392b")
    picture(OUT / "images" / "songket.png", "#4b0082", "square", "#ffd700")
    picture(OUT / "images" / "teh-tarik.png", "#f5deb3", "circle", "#8b4513")
    tone(OUT / "audio" / "azan-tone.wav", [440, 554], 1.5)
    tone(OUT / "audio" / "pasar-chatter.wav", [330, 392, 262], 2.0)
    tone(OUT / "audio" / "kompang.wav", [196, 247], 1.0)
    (OUT / "images" / "metadata.csv").write_text(
        "file,caption,caption_ms,title,license\n"
        "nasi-lemak.png,A plate of nasi lemak drawn as a green circle,Sepinggan nasi lemak dilukis sebagai bulatan hijau,Nasi lemak,CC0\n"
        "wau-bulan.png,A red wau bulan kite against the sky,Wau bulan merah dengan latar langit,Wau bulan,CC0\n"
        "songket.png,Gold songket pattern on purple,Corak songket emas di atas ungu,Songket,CC0\n"
        "teh-tarik.png,A cup of teh tarik seen from above,Secawan teh tarik dilihat dari atas,Teh tarik,CC0\n",
        encoding="utf-8",
    )
    jsonl(
        OUT / "audio_instructions.jsonl",
        [
            {
                "context": "Penceramah menerangkan waktu solat di Kuala Lumpur.",
                "filename": "audio/azan-tone.wav",
                "chat": [
                    {
                        "role": "user",
                        "content": "What is the speaker explaining?",
                        "content_ms": "Apakah yang diterangkan oleh penceramah?",
                    },
                    {
                        "role": "assistant",
                        "content": "The speaker explains prayer times in Kuala Lumpur.",
                        "content_ms": "Penceramah menerangkan waktu solat di Kuala Lumpur.",
                    },
                    {"role": "user", "content": "Which city is mentioned?", "content_ms": "Bandar mana yang disebut?"},
                    {"role": "assistant", "content": "Kuala Lumpur.", "content_ms": "Kuala Lumpur."},
                ],
            },
            {
                "context": "A trader at a night market calls out prices for durian.",
                "filename": "audio/pasar-chatter.wav",
                "chat": [
                    {"role": "user", "content": "Where was this recorded?", "content_ms": "Di manakah rakaman ini dibuat?"},
                    {"role": "assistant", "content": "At a night market, where a trader sells durian.", "content_ms": "None"},
                ],
            },
            {
                "context": "Kompang drums at a Malay wedding procession.",
                "filename": "audio/kompang.wav",
                "chat": [
                    {"role": "user", "content": "What event is this sound from?", "content_ms": "Bunyi ini daripada majlis apa?"},
                    {
                        "role": "assistant",
                        "content": "A Malay wedding procession with kompang drums.",
                        "content_ms": "Perarakan perkahwinan Melayu dengan paluan kompang.",
                    },
                ],
            },
        ],
    )
    jsonl(
        OUT / "relationships.jsonl",
        [
            {
                "filename": ["images/nasi-lemak.png", "images/teh-tarik.png"],
                "filename_description": ["a plate of nasi lemak", "a cup of teh tarik"],
                "instruction": "What is related between picture 1 and picture 2?",
                "answer": "Both are a classic Malaysian breakfast: nasi lemak is usually eaten with teh tarik.",
                "instruction_ms": "Apakah yang berkaitan antara gambar 1 dan gambar 2?",
                "answer_ms": "Kedua-duanya sarapan klasik Malaysia: nasi lemak biasanya dimakan bersama teh tarik.",
            },
            {
                "filename": ["audio/kompang.wav", "audio/azan-tone.wav"],
                "filename_description": ["kompang drums at a wedding", "a call to prayer"],
                "instruction": "What is related between audio 1 and audio 2?",
                "answer": "Both are sounds of Malay community life, one festive and one religious.",
                "instruction_ms": "Apakah yang berkaitan antara audio 1 dan audio 2?",
                "answer_ms": "Kedua-duanya bunyi kehidupan masyarakat Melayu, satu meriah dan satu keagamaan.",
            },
            {
                "filename": ["audio/kompang.wav", "images/songket.png"],
                "filename_description": ["kompang drums at a wedding", "gold songket cloth"],
                "instruction": "How could the audio and the picture belong together?",
                "answer": "Songket is worn at Malay weddings, where kompang drums welcome the couple.",
                "instruction_ms": "Bagaimanakah audio dan gambar ini berkaitan?",
                "answer_ms": "Google Translate",
            },
        ],
    )
    (OUT / "llava.json").write_text(
        json.dumps(
            [
                {
                    "id": "wau-1",
                    "image": "images/wau-bulan.png",
                    "conversations": [
                        {"from": "human", "value": "<image>\nWhat is flying in the picture?"},
                        {"from": "gpt", "value": "A red wau bulan, the moon kite of Kelantan."},
                    ],
                },
                {
                    "id": "songket-1",
                    "image": "images/songket.png",
                    "conversations": [
                        {"from": "human", "value": "Describe the pattern."},
                        {"from": "gpt", "value": "A gold geometric songket motif on purple cloth."},
                    ],
                },
                {
                    "id": "text-1",
                    "conversations": [
                        {"from": "human", "value": "Apa maksud 'teh tarik'?"},
                        {"from": "gpt", "value": "Teh tarik ialah teh susu yang dituang berulang kali supaya berbuih."},
                    ],
                },
            ],
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    (OUT / "sharegpt.json").write_text(
        json.dumps(
            [
                {
                    "messages": [
                        {"role": "system", "content": "You are a helpful Malaysian assistant."},
                        {"role": "user", "content": "<image><image>Which of these is a drink?"},
                        {"role": "assistant", "content": "The second picture, teh tarik."},
                    ],
                    "images": ["images/nasi-lemak.png", "images/teh-tarik.png"],
                },
                {
                    "messages": [
                        {"role": "user", "content": "<audio>Is this music or speech?"},
                        {"role": "assistant", "content": "Music: kompang drums."},
                    ],
                    "audios": ["audio/kompang.wav"],
                },
            ],
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
