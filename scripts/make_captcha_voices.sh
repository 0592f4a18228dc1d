#!/usr/bin/env bash
# Regenerates service/captcha_voices/ from espeak-ng. Run once by a developer; the runtime never needs espeak-ng.
# Needs: espeak-ng and sox (apt-get install -y espeak-ng sox).
set -euo pipefail

out="${1:-$(dirname "$0")/../service/captcha_voices}"

# How a Vietnamese reader names each character when reading a code aloud. Spelled out rather than left to
# espeak-ng's letter table, so that the names are reviewable here; "đê" and "giê" keep D and G apart in the north,
# where "dê" and "giê" sound the same, and J is spelt "di" because espeak-ng drops the vowel of a bare "gi".
declare -A names=(
    [A]="a" [B]="bê" [C]="xê" [D]="đê" [E]="e" [F]="ép phờ" [G]="giê" [H]="hát" [J]="di" [K]="ca"
    [M]="em mờ" [N]="en nờ" [P]="pê" [Q]="quy" [R]="e rờ" [S]="ét xì" [T]="tê" [U]="u" [V]="vê"
    [W]="vê kép" [X]="ích xì" [Y]="i dài" [Z]="dét"
    [2]="hai" [3]="ba" [4]="bốn" [5]="năm" [6]="sáu" [7]="bảy" [8]="tám" [9]="chín"
)
# Northern and southern accents: AudioCaptcha picks one file per character at random.
voices=(vi vi-vn-x-south)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for char in "${!names[@]}"; do
    mkdir -p "$out/$char"
    rm -f "$out/$char"/*.wav
    n=1
    for voice in "${voices[@]}"; do
        espeak-ng -v "$voice" -s 140 -w "$tmp/raw.wav" "${names[$char]}"
        # AudioCaptcha splices raw frames into an 8 kHz, mono, unsigned 8-bit stream, so the files must be exactly
        # that. -D (no dither) keeps the output reproducible; the silence effects trim the ends so that the gaps
        # between characters are the ones AudioCaptcha randomises.
        sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 8 -e unsigned-integer "$out/$char/$n.wav" \
            silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse norm -1
        n=$((n + 1))
    done
done
