"""QR codes read back from a picture, as a phone's camera would (zxing-cpp)."""

import io

import zxingcpp
from PIL import Image


def qr_codes(png: bytes) -> list[str]:
    """The text of every code found in the PNG."""
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
