#!/usr/bin/env bash
# Test clips for the video e2e tests, made with ffmpeg into e2e/clips/out/ (git-ignored), served by the
# Vite dev server at /e2e/clips/out/. Idempotent: a clip that exists is not made again.
#
#   e2e/clips/make-clips.sh          the small clips the tests use (a few seconds of 2 cores)
#   e2e/clips/make-clips.sh bench    also the 1080p clip for e2e/bench-video.spec.ts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p out
cd out

export SVT_LOG=1 # SVT-AV1: errors only
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# A moving test pattern, so that neighbouring frames differ; BT.601 tags so that every decoder converts
# YUV to RGB the same way.
pattern() { echo "testsrc2=size=$1:rate=$2:duration=$3"; }
tags=(-colorspace smpte170m -color_primaries smpte170m -color_trc smpte170m -color_range tv)
make() { # make NAME ARGS...: run ffmpeg unless NAME exists (written to a temporary name first)
  local name=$1; shift
  [[ -s $name ]] && return 0
  ff "$@" "tmp.$name" && mv "tmp.$name" "$name"
}

make h264.mp4 -f lavfi -i "$(pattern 320x240 30 3)" -c:v libx264 -pix_fmt yuv420p -g 30 "${tags[@]}"
# BT.709 primaries: the browser imports these frames (importExternalTexture) without a gamut conversion.
make h264-bt709.mp4 -f lavfi -i "$(pattern 320x240 30 1)" -c:v libx264 -pix_fmt yuv420p -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv
make vp9.webm -f lavfi -i "$(pattern 320x240 25 2)" -c:v libvpx-vp9 -pix_fmt yuv420p -deadline realtime -b:v 500k "${tags[@]}"
make av1.mp4 -f lavfi -i "$(pattern 320x240 24 2)" -c:v libsvtav1 -pix_fmt yuv420p -preset 12 "${tags[@]}"
# 10-bit (VP9 profile 2, AV1 Main 10-bit), as phones record: decoded to 10-bit frames, converted to 8-bit sRGB.
make vp9-10bit.webm -f lavfi -i "$(pattern 160x120 25 1)" -c:v libvpx-vp9 -profile:v 2 -pix_fmt yuv420p10le -deadline realtime -b:v 500k "${tags[@]}"
make av1-10bit.mp4 -f lavfi -i "$(pattern 160x120 24 1)" -c:v libsvtav1 -pix_fmt yuv420p10le -preset 12 "${tags[@]}"
# HDR: 10-bit BT.2020 with the PQ transfer (HDR10), and 12-bit VP9 (still profile 2).
make vp9-hdr10.webm -f lavfi -i "$(pattern 160x120 25 1)" -c:v libvpx-vp9 -profile:v 2 -pix_fmt yuv420p10le -deadline realtime -b:v 500k \
  -colorspace bt2020nc -color_primaries bt2020 -color_trc smpte2084 -color_range tv
make vp9-12bit.webm -f lavfi -i "$(pattern 160x120 30 1)" -c:v libvpx-vp9 -profile:v 2 -pix_fmt yuv420p12le -deadline realtime -b:v 500k "${tags[@]}"
# Odd sizes: VP9 allows them in 4:2:0 (H.264 does not); testsrc2 itself only makes even sizes.
make odd-317x241.webm -f lavfi -i "$(pattern 320x240 25 2)" -vf scale=317:241,setsar=1 -c:v libvpx-vp9 -pix_fmt yuv420p -deadline realtime -b:v 500k "${tags[@]}"
# Variable frame rate: 1 s at 30 fps, then 2 s at 10 fps.
make vfr.mp4 -f lavfi -i "$(pattern 320x240 30 3)" -vf "select='lt(n,30)+not(mod(n-30,3))',setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'" \
  -fps_mode vfr -c:v libx264 -pix_fmt yuv420p "${tags[@]}"
make hevc.mp4 -f lavfi -i "$(pattern 320x240 30 1)" -c:v libx265 -tag:v hvc1 -pix_fmt yuv420p -x265-params log-level=error
make audio-only.mp4 -f lavfi -i "sine=frequency=440:duration=1" -c:a aac
# Truncated: the index (moov) comes first, the media data is cut after 40% of the file.
make faststart.mp4 -f lavfi -i "$(pattern 320x240 30 2)" -c:v libx264 -pix_fmt yuv420p "${tags[@]}" -movflags +faststart
[[ -s truncated.mp4 ]] || head -c $(($(stat -c %s faststart.mp4) * 4 / 10)) faststart.mp4 > truncated.mp4
# Cut inside the first frame's data: nothing can be decoded.
[[ -s cut-in-first-frame.mp4 ]] || head -c "$(($(ffprobe -v error -select_streams v -show_entries packet=pos -of csv=p=0 faststart.mp4 | head -1) + 100))" faststart.mp4 > cut-in-first-frame.mp4
# Rotation metadata: coded 320×240, displayed 240×320 (a display matrix; ffmpeg 5 writes it on stream copy).
make rotated-90.mp4 -i faststart.mp4 -c copy -metadata:s:v:0 rotate=90
[[ -e zero-bytes.mp4 ]] || : > zero-bytes.mp4
[[ -s not-a-video.mp4 ]] || echo "This is a text file with a video's name." > not-a-video.mp4
# Frames wider than any GPU texture (VP9 allows up to 65536 px).
make too-wide.webm -f lavfi -i "color=c=gray:size=9000x64:rate=5:duration=0.4" -c:v libvpx-vp9 -pix_fmt yuv420p -deadline realtime
# Files as people have them (look-alikes of real-world ones).
# An MPEG-TS segment cut from a broadcast: timestamps from about 114 s, the first 1.9 s before its first
# keyframe (cut mid-GOP with stream copy, the non-key packets kept). Not .ts: Vite would serve that as TypeScript.
make gop-keys-0-4s.mp4 -f lavfi -i "$(pattern 320x240 30 5)" -c:v libx264 -pix_fmt yuv420p -g 300 -sc_threshold 0 -force_key_frames 0,4 "${tags[@]}"
make broadcast-cut.mpegts -i gop-keys-0-4s.mp4 -ss 2 -c copy -copyinkf -output_ts_offset 112.7 -f mpegts
# One P frame (frame 10 of 60) the decoder rejects: its slice header names a PPS that does not exist
# (bits 1, 1, 0001000: first_mb 0, slice_type P, pps_id 7); ffmpeg decodes the 59 others.
if [[ ! -s damaged-frame.mp4 ]]; then
  ff -f lavfi -i "$(pattern 320x240 30 2)" -c:v libx264 -pix_fmt yuv420p -g 30 -bf 0 "${tags[@]}" tmp.damaged-frame.mp4
  # Packet 10's sample: a 4-byte NAL length, the NAL header, then the slice header.
  pos=$(ffprobe -v error -select_streams v -show_entries packet=pos -of csv=p=0 tmp.damaged-frame.mp4 | sed -n 11p)
  printf '\xc4\x00' | dd of=tmp.damaged-frame.mp4 bs=1 seek=$((pos + 5)) conv=notrunc status=none
  mv tmp.damaged-frame.mp4 damaged-frame.mp4
fi
# The index (moov, at the front) promises 35 s; the media data ends after the first 15 frames (0.5 s).
make faststart-35s.mp4 -f lavfi -i "$(pattern 160x120 30 35)" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 "${tags[@]}" -movflags +faststart
[[ -s ends-early.mp4 ]] || head -c "$(ffprobe -v error -select_streams v -show_entries packet=pos -of csv=p=0 faststart-35s.mp4 | sed -n 16p)" faststart-35s.mp4 > ends-early.mp4
# A phone's slow-motion recording: H.264 High, 160×120, variable frame rate (5 s at 30 fps, then 60 fps), whose
# keyframes are I-frames with a recovery point SEI rather than IDR frames (an open-GOP encode cut at a
# keyframe with stream copy, the B-frames before the cut dropped as players do), and a Samsung-style SEF
# trailer (SEFH … SEFT) after the media data. Two keyframes, at 0 and 2.5 s.
make open-gop-vfr.mp4 -f lavfi -i "$(pattern 160x120 30 9)" -vf "setpts='if(lt(N,150),N/30,5+(N-150)/60)/TB'" -fps_mode vfr \
  -enc_time_base 1/600 -c:v libx264 -profile:v high -pix_fmt yuv420p -x264-params open-gop=1:keyint=90:min-keyint=90:scenecut=0 "${tags[@]}"
if [[ ! -s slow-motion.mp4 ]]; then
  ff -ss 3 -i open-gop-vfr.mp4 -c copy -bsf:v "noise=drop='not(key)*lt(pts,startpts)'" tmp.slow-motion.mp4
  printf 'SEFH\x6b\x00\x00\x00\x01\x00\x00\x00\x00\x00\x08\x08\x10\x00\x00\x00SlowMotion_Data\x00\x00\x00\x00SEFT' >> tmp.slow-motion.mp4
  mv tmp.slow-motion.mp4 slow-motion.mp4
fi
# Trimmed without re-encoding: the packets from the keyframe before the cut on are kept, and an edit list
# starts the video at the cut (1.5 s in), so the first 45 packets sit before 0 s, flagged to discard.
make trimmed.mp4 -ss 1.5 -i gop-keys-0-4s.mp4 -c copy
# Video this app cannot decode, in containers mediabunny opens or skips: MPEG-2 in MPEG-TS and MPEG-PS (DVD,
# broadcast), MPEG-4 Part 2 in MPEG-TS; AVI and FLV containers. Names end in .mpegts/.mpg: Vite would serve .ts as TypeScript.
# With MP2 audio beside the video, as broadcasts and DVDs have it (mediabunny sees only the audio).
sine=(-f lavfi -i "sine=frequency=440:duration=1" -c:a mp2)
make mpeg2.mpegts -f lavfi -i "$(pattern 160x120 25 1)" "${sine[@]}" -c:v mpeg2video -f mpegts
make mpeg2.mpg -f lavfi -i "$(pattern 160x120 25 1)" "${sine[@]}" -c:v mpeg2video -f vob
make mpeg4-part2.mpegts -f lavfi -i "$(pattern 160x120 25 1)" "${sine[@]}" -c:v mpeg4 -f mpegts
make xvid.avi -f lavfi -i "$(pattern 160x120 25 1)" -c:v mpeg4
make sorenson.flv -f lavfi -i "$(pattern 160x120 25 1)" -c:v flv1
# Tracks mediabunny reads but cannot decode, named from the container's codec id (and, for MP4's 'mp4v', which
# is MPEG-4 Part 2 or MPEG-2, from the first packet): an old phone's H.263 3GP, MPEG-2 in MP4 and in MKV.
make mpeg4-part2.mp4 -f lavfi -i "$(pattern 160x120 25 1)" -c:v mpeg4
make mpeg2-in.mp4 -f lavfi -i "$(pattern 160x120 25 1)" -c:v mpeg2video
make mpeg2.mkv -f lavfi -i "$(pattern 160x120 25 1)" -c:v mpeg2video
make h263.3gp -f lavfi -i "$(pattern 176x144 25 1)" -c:v h263
# No keyframe at all, its data all there: 1 s to 3 s of a GOP that starts at 0 s, cut with stream copy from
# the frame at 1 s on (-copyinkf: the frames before the next keyframe are kept).
make no-keyframe.mp4 -i gop-keys-0-4s.mp4 -ss 1 -t 2 -c copy -copyinkf
# 4K: decoded and downscaled on the GPU.
make 4k.mp4 -f lavfi -i "$(pattern 3840x2160 5 1)" -c:v libx264 -pix_fmt yuv420p -preset ultrafast "${tags[@]}"

if [[ ${1:-} == bench ]]; then
  make 1080p.mp4 -f lavfi -i "$(pattern 1920x1080 30 5)" -c:v libx264 -pix_fmt yuv420p -preset veryfast "${tags[@]}"
fi
