"""Media that fits: igpub prepares what a person has into what Instagram accepts, and keeps the original.

* ``igpub.media.plan``: pure geometry and rules (no Pillow, no ffmpeg): the image specifications per post
  kind, how ``fit: pad|crop|refuse`` brings a picture into range, and which media need work at all (read
  from the first bytes of a file). The publisher and the CLI import only this module.
* ``igpub.media.images`` (Pillow, pillow-heif): any still image in, an sRGB baseline JPEG out.
* ``igpub.media.video`` (ffmpeg from imageio-ffmpeg): any video ffmpeg reads in, H.264/AAC MP4 out.
* ``igpub.media.fetch`` (httpx): ``prepare: true`` URLs, fetched with SSRF protection.
* ``igpub.media.prepare``: the MediaFunction's task (read the original, write the rendition next to it).

Pillow, pillow-heif and imageio-ffmpeg ship in the MediaFunction only (functions/media/requirements.txt),
not in the shared layer: the publisher's cold start does not grow. This package's ``__init__`` imports
nothing.
"""
