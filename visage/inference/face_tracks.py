"""Face tracks across video frames: a small IoU tracker gives each face box an id that stays the same frame to frame.

(Not experiment tracking, which is `visage.runner.experiment_logging`.)

Torch-free. Boxes are `(x, y, w, h)` in pixels. Each frame's boxes are matched greedily to the live
tracks, the pair with the largest overlap first; a box that overlaps no track by `iou_threshold`
starts a new track, and a track missed for more than `max_missed` frames ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from visage.core.errors import ConfigError

Box = tuple[float, float, float, float]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Return the intersection over union of two `(x, y, w, h)` boxes (0 when either is empty)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One tracked face: its id, last box and how many frames in a row it went unseen."""

    track_id: int
    box: Box
    missed: int = 0


class IouTracker:
    """Greedy IoU matching of detections to tracks (SORT without the Kalman filter)."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 5) -> None:
        """Create a tracker.

        Args:
            iou_threshold: least overlap for a box to continue a track.
            max_missed: frames a track may go unmatched before it ends.
        """
        if not 0.0 < iou_threshold <= 1.0:
            raise ConfigError(f"tracker.iou_threshold={iou_threshold} is not in (0, 1]")
        self.iou_threshold, self.max_missed = iou_threshold, max(0, int(max_missed))
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, boxes: Sequence[Sequence[float]]) -> list[int]:
        """Return the track id of each box of this frame, in the order given."""
        pairs = sorted(((iou(track.box, box), t, b) for t, track in enumerate(self.tracks)
                        for b, box in enumerate(boxes)), reverse=True)
        ids: list[int | None] = [None] * len(boxes)
        matched_tracks: set[int] = set()
        for overlap, t, b in pairs:
            if overlap < self.iou_threshold:
                break
            if t in matched_tracks or ids[b] is not None:
                continue
            matched_tracks.add(t)
            track = self.tracks[t]
            track.box, track.missed, ids[b] = tuple(boxes[b]), 0, track.track_id
        for t, track in enumerate(self.tracks):
            if t not in matched_tracks:
                track.missed += 1
        self.tracks = [track for track in self.tracks if track.missed <= self.max_missed]
        for b, box in enumerate(boxes):
            if ids[b] is None:
                self.tracks.append(Track(self._next_id, tuple(box)))
                ids[b] = self._next_id
                self._next_id += 1
        return [int(i) for i in ids]
