"""Virtual cameras: a still picture made into video, and the procedural "dead leaves" pictures.

``camera_clip`` moves a camera over a photograph (pan with a speed class, zoom, rotation,
handheld shake, independently moving sprites cut from the picture, fades, sensor noise), so the
encoder meets global and local sub-pixel motion and occlusions. ``dead_leaves`` draws occluding
shapes with power-law sizes (the scale invariance of natural images; Achddou et al., SSVM 2021).
Numpy and OpenCV only; every output is a pure function of its seed.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["camera_clip", "dead_leaves"]


def dead_leaves(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A "dead leaves" picture: occluding shapes with power-law sizes, as RGB uint8 (H, W, 3).

    Shapes (discs, ellipses, rotated rectangles, polygons) fall one over the other with radii
    distributed as r^-3 (the scale invariance of natural images); each is filled with a colour
    gradient, and some with stripes or fine noise texture; edges are anti-aliased. Parts are
    blurred (depth of field) and light sensor noise is added.
    """
    img = np.empty((height, width, 3), np.float32)
    img[:] = _leaf_colour(rng)
    r_min, r_max = 4.0, 0.3 * min(width, height)
    n = int(rng.integers(8000, 14000))  # enough leaves to cover the picture several times over
    # inverse CDF of p(r) ~ r^-3 on [r_min, r_max]
    u = rng.random(n)
    radii = (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5
    for r in radii:
        cx, cy = rng.uniform(-r, width + r), rng.uniform(-r, height + r)
        x0, x1 = max(0, int(cx - r - 2)), min(width, int(cx + r + 3))
        y0, y1 = max(0, int(cy - r - 2)), min(height, int(cy + r + 3))
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        lx, ly = cx - x0, cy - y0  # centre in the patch
        kind = rng.random()
        if kind < 0.4:
            axes = (max(1, int(r * 16)), max(1, int(r * 16 * rng.uniform(0.3, 1.0))))
            cv2.ellipse(mask, (int(lx * 16), int(ly * 16)), axes, float(rng.uniform(0, 180)),
                        0, 360, 255, -1, cv2.LINE_AA, 4)
        else:
            sides = 4 if kind < 0.75 else int(rng.integers(3, 8))
            if sides == 4:  # a rotated rectangle
                ang = np.array([0.25, 0.75, 1.25, 1.75]) * np.pi + rng.uniform(0, np.pi)
                rad = np.full(4, r)
                pts = np.stack([rad * np.cos(ang), rad * np.sin(ang) * rng.uniform(0.3, 1.0)], 1)
            else:
                ang = np.sort(rng.uniform(0, 2 * np.pi, sides))
                rad = r * rng.uniform(0.5, 1.0, sides)
                pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
            pts = pts + [lx, ly]
            cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        if not mask.any():
            continue
        a = mask.astype(np.float32)[..., None] / 255.0
        sy, sx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        grad = rng.normal(0, 40, (2, 3)).astype(np.float32) / max(r, 4.0)
        fill = _leaf_colour(rng) + (sx - cx)[..., None] * grad[0] + (sy - cy)[..., None] * grad[1]
        t = rng.random()
        if t < 0.2 and r > 6:  # stripes
            period = rng.uniform(2.5, 20)
            theta = rng.uniform(0, np.pi)
            wave = np.sin((sx * np.cos(theta) + sy * np.sin(theta)) * 2 * np.pi / period)
            fill += wave[..., None] * rng.uniform(10, 50) * rng.choice([-1.0, 1.0], 3)
        elif t < 0.5 and r > 6:  # fine texture
            sigma = rng.uniform(0.5, 2.5)
            noise = cv2.GaussianBlur(rng.normal(0, 1, sx.shape).astype(np.float32), (0, 0), sigma)
            fill += (noise / (noise.std() + 1e-6))[..., None] * rng.uniform(4, 25)
        patch = img[y0:y1, x0:x1]
        patch[:] = patch * (1 - a) + fill * a
    if rng.random() < 0.6:  # depth of field: blur a soft region
        blurred = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 4.0))
        w = np.zeros((height, width), np.float32)
        cv2.circle(w, (int(rng.uniform(0, width)), int(rng.uniform(0, height))),
                   int(rng.uniform(0.2, 0.6) * width), 1.0, -1)
        w = cv2.GaussianBlur(w, (0, 0), 40)[..., None]
        img = img * (1 - w) + blurred * w
    img = cv2.GaussianBlur(img, (0, 0), 0.6)  # optics: no edge is sharper than a lens makes it
    img += rng.normal(0, rng.uniform(0, 2.0), img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _leaf_colour(rng: np.random.Generator) -> np.ndarray:
    """A colour with the low saturation most natural surfaces have: a grey plus a small tint."""
    return (rng.uniform(10, 245) + rng.normal(0, 30, 3)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, amp: float) -> np.ndarray:
    """A smooth random wobble (sum of three sines), amplitude about ``amp``."""
    out = np.zeros_like(t)
    for _ in range(3):
        out += rng.uniform(0.3, 1.0) * np.sin(rng.uniform(0.1, 0.6) * t + rng.uniform(0, 6.3))
    return out * (amp / 1.8)


def _view_corners(cx, cy, zoom, angle, w, h):
    """Corners of the frame in working-image coordinates, (T, 4, 2)."""
    fc = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) - (w / 2, h / 2)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = (c * fc[None, :, 0] - s * fc[None, :, 1]) / zoom[:, None] + cx[:, None]
    y = (s * fc[None, :, 0] + c * fc[None, :, 1]) / zoom[:, None] + cy[:, None]
    return np.stack([x, y], -1)


def _blob_alpha(rng: np.random.Generator, size: int) -> np.ndarray:
    """A soft-edged shape (ellipse, rounded box or smooth blob) filling a size x size square."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) + 0.5
    c = size / 2
    dx, dy = (xx - c) / c, (yy - c) / c
    kind = rng.choice(["ellipse", "box", "blob"], p=[0.35, 0.25, 0.4])
    # sd: signed distance to the outline in units of the half size, negative inside.
    if kind == "ellipse":
        ax, ay = rng.uniform(0.5, 0.95), rng.uniform(0.5, 0.95)
        sd = (np.hypot(dx / ax, dy / ay) - 1) * min(ax, ay)
    elif kind == "box":
        ax, ay = rng.uniform(0.45, 0.9), rng.uniform(0.45, 0.9)
        r = rng.uniform(0.0, 0.4) * min(ax, ay)
        qx, qy = np.abs(dx) - ax + r, np.abs(dy) - ay + r
        sd = (np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
              + np.minimum(np.maximum(qx, qy), 0) - r)
    else:
        theta = np.arctan2(dy, dx)
        rad = np.full_like(theta, rng.uniform(0.55, 0.7))
        for k in range(2, 6):
            rad += rng.uniform(0, 0.12) * np.sin(k * theta + rng.uniform(0, 6.3))
        rad = np.clip(rad, 0.3, 0.95)
        sd = (np.hypot(dx, dy) / rad - 1) * rad
    return np.clip(-sd * c / 1.5 + 0.5, 0, 1).astype(np.float32)


def _detail_map(img: np.ndarray) -> np.ndarray:
    """Integral image of the absolute Laplacian of the luma (for :func:`_box_mean`)."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    return cv2.integral(lap, sdepth=cv2.CV_64F)


def _box_mean(integral: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> float:
    """Mean detail over the bounding box of the points (xs, ys)."""
    h, w = integral.shape[0] - 1, integral.shape[1] - 1
    x0, x1 = int(np.clip(np.min(xs), 0, w - 1)), int(np.clip(np.max(xs), 1, w))
    y0, y1 = int(np.clip(np.min(ys), 0, h - 1)), int(np.clip(np.max(ys), 1, h))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    total = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return float(total) / ((x1 - x0) * (y1 - y0))


def camera_clip(image: np.ndarray, width: int, height: int, count: int,
                seed: int) -> tuple[list[np.ndarray], dict]:
    """Frames of a camera moving over a still photograph, with independently moving regions.

    The photograph is first scaled (area filter) so that one frame pixel covers ``scale``
    source pixels (a random crop scale), then a smooth camera path samples it: a pan of a
    random speed class (still, slow, medium, fast: up to about 14 px/frame) with some
    acceleration, often a zoom and a small rotation, sometimes handheld shake. Zero to three
    sprites cut from elsewhere in the picture (soft-edged ellipses, boxes, blobs) move, turn and
    scale on their own. Sometimes a slow fade or light sensor noise is added.

    Args:
        image: RGB uint8 (H, W, 3).
        width, height: frame size.
        count: number of frames.
        seed: the trajectory; same seed, same frames.

    Returns:
        RGB uint8 (height, width, 3) frames, and a dict describing the motion (for metadata).
    """
    rng = np.random.default_rng(seed)
    ih, iw = image.shape[:2]
    margin = 1.3
    kmax = min(iw / (width * margin), ih / (height * margin))
    kmin = min(0.8, kmax)
    scale = float(math.exp(rng.uniform(math.log(kmin), math.log(kmax)))) if kmax > kmin else kmax
    ww, wh = max(width + 2, round(iw / scale)), max(height + 2, round(ih / scale))
    interp = cv2.INTER_AREA if scale > 1 else cv2.INTER_CUBIC
    work = cv2.resize(image, (ww, wh), interpolation=interp)

    t = np.arange(count, dtype=np.float64)
    speed = float(rng.choice([rng.uniform(0, 0.3), rng.uniform(0.3, 2), rng.uniform(2, 6),
                              rng.uniform(6, 14)], p=[0.1, 0.35, 0.35, 0.2]))
    heading = rng.uniform(0, 2 * math.pi)
    accel = rng.normal(0, 0.03, 2) * (speed + 0.5)
    zoom_rate = rng.choice([0.0, 1.0], p=[0.6, 0.4]) * rng.choice([-1, 1]) * rng.uniform(0.002, 0.015)
    rot_rate = rng.choice([0.0, 1.0], p=[0.65, 0.35]) * rng.normal(0, 0.25)  # degrees per frame
    shake = float(rng.choice([0.0, 1.0], p=[0.6, 0.4]) * rng.uniform(0.3, 2.0))
    zoom0 = rng.uniform(1.0, 1.1)
    angle0 = rng.normal(0, 2.0)
    noise_x, noise_y = _smooth_noise(rng, t, shake), _smooth_noise(rng, t, shake)
    noise_a = _smooth_noise(rng, t, 0.2 * shake)

    fit = 1.0
    for _ in range(30):  # shrink the motion until the whole path stays inside the picture
        zoom = zoom0 * np.exp(fit * zoom_rate * t)
        angle = np.radians(angle0 + fit * (rot_rate * t + noise_a))
        # The camera moves ``speed`` frame pixels per frame: divide by zoom for working pixels.
        dx = fit * (speed * math.cos(heading) * t + 0.5 * accel[0] * t * t) / zoom + noise_x * fit
        dy = fit * (speed * math.sin(heading) * t + 0.5 * accel[1] * t * t) / zoom + noise_y * fit
        corners = _view_corners(dx, dy, zoom, angle, width, height)
        lo, hi = corners.reshape(-1, 2).min(0), corners.reshape(-1, 2).max(0)
        if hi[0] - lo[0] <= ww - 2 and hi[1] - lo[1] <= wh - 2:
            break
        fit *= 0.8
    # Where the path starts: the most detailed of three random places, 70% of the time
    # (photographs with shallow depth of field are otherwise often a blurred wall).
    detail = _detail_map(work)
    f0 = corners[0]
    cands = []
    for _ in range(3):
        ox = rng.uniform(-lo[0] + 1, ww - 1 - hi[0]) if ww - 1 - hi[0] > -lo[0] + 1 else ww / 2
        oy = rng.uniform(-lo[1] + 1, wh - 1 - hi[1]) if wh - 1 - hi[1] > -lo[1] + 1 else wh / 2
        cands.append((ox, oy))
    if rng.random() < 0.7:
        ox, oy = max(cands, key=lambda o: _box_mean(detail, f0[:, 0] + o[0], f0[:, 1] + o[1]))
    else:
        ox, oy = cands[0]
    cx, cy = dx + ox, dy + oy

    # Independently moving regions.
    sprites = []
    n_obj = int(rng.choice([0, 1, 2, 3], p=[0.25, 0.35, 0.25, 0.15]))
    for _ in range(n_obj):
        size = int(rng.uniform(0.15, 0.5) * min(width, height)) | 1
        size = max(size, 9)
        alpha = _blob_alpha(rng, size)
        places = [(int(rng.integers(0, max(1, ww - size))), int(rng.integers(0, max(1, wh - size))))
                  for _ in range(3)]
        sx, sy = max(places, key=lambda q: _box_mean(detail, np.array([q[0], q[0] + size]),
                                                     np.array([q[1], q[1] + size])))
        patch = work[sy:sy + size, sx:sx + size]
        if patch.shape[:2] != (size, size):
            patch = cv2.resize(patch, (size, size))
        sprite = np.dstack([patch.astype(np.float32), alpha * 255.0])
        direction = rng.uniform(0, 2 * math.pi)
        v = rng.uniform(0.3, 8.0) * np.array([math.cos(direction), math.sin(direction)])
        p0 = np.array([rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height])
        p0 -= v * count * rng.uniform(0.0, 0.5)  # some enter from outside
        sprites.append({
            "sprite": sprite, "p0": p0, "v": v, "a": rng.normal(0, 0.04, 2),
            "rot": rng.normal(0, 1.0), "phi0": rng.uniform(0, 360),
            "grow": rng.normal(0, 0.006), "s0": rng.uniform(0.8, 1.25),
        })

    fade = float(rng.choice([0.0, 1.0], p=[0.9, 0.1]) * rng.choice([-1, 1]) * rng.uniform(0.002, 0.01))
    sigma = float(rng.choice([0.0, 1.0], p=[0.85, 0.15]) * rng.uniform(0.5, 1.5))
    noise_rng = np.random.default_rng(rng.integers(1 << 62))

    frames = []
    fc = np.array([width / 2, height / 2])
    for i in range(count):
        # Inverse map: frame pixel p -> working pixel c + R(angle) (p - fc) / zoom.
        ca, sa = math.cos(angle[i]) / zoom[i], math.sin(angle[i]) / zoom[i]
        a = np.array([[ca, -sa], [sa, ca]])
        m = np.hstack([a, (np.array([cx[i], cy[i]]) - a @ fc)[:, None]])
        frame = cv2.warpAffine(work, m, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
        for sp in sprites:
            pos = sp["p0"] + sp["v"] * i + 0.5 * sp["a"] * i * i
            phi = math.radians(sp["phi0"] + sp["rot"] * i)
            s = sp["s0"] * math.exp(sp["grow"] * i)
            size = sp["sprite"].shape[0]
            c2, s2 = math.cos(phi) / s, math.sin(phi) / s
            a2 = np.array([[c2, s2], [-s2, c2]])  # frame offset -> sprite offset
            m2 = np.hstack([a2, (np.array([size / 2, size / 2]) - a2 @ pos)[:, None]])
            layer = cv2.warpAffine(sp["sprite"], m2, (width, height),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
            al = layer[..., 3:4] / 255.0
            frame = frame * (1 - al) + layer[..., :3] * al
        if fade:
            frame *= 1 + fade * i
        if sigma:
            frame += noise_rng.normal(0, sigma, frame.shape).astype(np.float32)
        frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    info = {
        "scale": round(scale, 4), "speed": round(speed * fit, 3),
        "zoom_rate": round(float(zoom_rate) * fit, 5) + 0.0,
        "rot_rate": round(float(rot_rate) * fit, 4) + 0.0,
        "shake": round(shake * fit, 3), "objects": n_obj, "fade": round(fade, 5) + 0.0, "noise": round(sigma, 3),
        # First frame's centre and zoom in the original picture's pixels (the "crop").
        "centre": [round(float(cx[0]) * scale, 1), round(float(cy[0]) * scale, 1)],
        "view": [round(width * scale / float(zoom[0]), 1), round(height * scale / float(zoom[0]), 1)],
    }
    return frames, info
