package stream

// dedup remembers the hashes of recent message ids. QoS 1 is at-least-once:
// a broker redelivers what it did not see acknowledged, typically within
// seconds, so a window of the last few ten thousand messages is enough.
//
// Two generations of a fixed size keep memory bounded: when the current one
// fills up, it becomes the previous one and the old previous one is cleared
// and reused (clear keeps the map's buckets, so this does not allocate).
// An id is remembered for at least `size` and at most 2×size messages.
type dedup struct {
	size      int
	cur, prev map[uint64]struct{}
}

func newDedup(size int) *dedup {
	if size <= 0 {
		size = 1 << 16
	}
	return &dedup{size: size, cur: make(map[uint64]struct{}, size), prev: make(map[uint64]struct{}, size)}
}

// seen reports whether h was seen in the window, and remembers it.
func (d *dedup) seen(h uint64) bool {
	if _, ok := d.cur[h]; ok {
		return true
	}
	if _, ok := d.prev[h]; ok {
		return true
	}
	if len(d.cur) >= d.size {
		clear(d.prev)
		d.prev, d.cur = d.cur, d.prev
	}
	d.cur[h] = struct{}{}
	return false
}
