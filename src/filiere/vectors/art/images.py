"""Image evidence: perceptual hashes for recompressed or resized copies, ORB keypoints with a RANSAC
homography for crops and rotations. No model weights: OpenCV and imagehash only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from filiere._lazy import require
from filiere.errors import UserInputError

#: Hamming distance (of 64 bits) up to which two perceptual hashes are taken for the same picture
PHASH_MAX_DISTANCE = 12
#: RANSAC inliers from which a keypoint match counts as evidence, and from which it is certain
ORB_MIN_INLIERS = 12
ORB_FULL_INLIERS = 60


@dataclass(slots=True)
class ImageFeatures:
    phash: int  # unsigned 64-bit
    keypoints: npt.NDArray[np.float32]  # (n, 2) coordinates
    descriptors: npt.NDArray[np.uint8] | None  # (n, 32) ORB descriptors


def load_gray(path: str | Path, *, max_side: int = 800) -> npt.NDArray[np.uint8]:
    cv2: Any = require("cv2", "vectors")
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise UserInputError(f"{path}: not a readable image")
    h, w = img.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1.0:
        img = cv2.resize(img, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    return np.asarray(img, dtype=np.uint8)


def phash_of(gray: npt.NDArray[np.uint8]) -> int:
    imagehash: Any = require("imagehash", "vectors")
    pil: Any = require("PIL.Image", "vectors")
    h = imagehash.phash(pil.fromarray(gray), hash_size=8)
    bits = np.asarray(h.hash, dtype=np.uint8).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def features(path: str | Path, *, n_features: int = 1000) -> ImageFeatures:
    cv2: Any = require("cv2", "vectors")
    gray = load_gray(path)
    orb = cv2.ORB_create(nfeatures=n_features)
    kps, desc = orb.detectAndCompute(gray, None)
    pts = np.array([kp.pt for kp in kps], dtype=np.float32).reshape(-1, 2)
    return ImageFeatures(phash_of(gray), pts, desc)


def phash_distances(query: int, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Hamming distances of one hash to many (vectorised popcount)."""
    x = np.bitwise_xor(hashes, np.uint64(query))
    return np.bitwise_count(x).astype(np.int64)


def phash_similarity(distance: int) -> float:
    """1 for identical hashes, 0 from ``PHASH_MAX_DISTANCE`` bits apart."""
    return max(0.0, 1.0 - distance / PHASH_MAX_DISTANCE) if distance <= PHASH_MAX_DISTANCE else 0.0


def orb_inliers(a: ImageFeatures, b: ImageFeatures, *, ratio: float = 0.75) -> int:
    """Keypoint matches (Lowe's ratio test) that agree with one RANSAC homography."""
    cv2: Any = require("cv2", "vectors")
    if a.descriptors is None or b.descriptors is None or len(a.descriptors) < 8 or len(b.descriptors) < 8:
        return 0
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(a.descriptors, b.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if len(good) < 8:
        return 0
    src = a.keypoints[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    dst = b.keypoints[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    _, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
    return int(mask.sum()) if mask is not None else 0


def orb_similarity(inliers: int) -> float:
    if inliers < ORB_MIN_INLIERS:
        return 0.0
    return min(1.0, 0.7 + 0.3 * (inliers - ORB_MIN_INLIERS) / (ORB_FULL_INLIERS - ORB_MIN_INLIERS))
