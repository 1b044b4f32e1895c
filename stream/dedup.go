package stream

// dedup remembers the hashes of recent message ids. QoS 1 is at-least-once:
// a broker redelivers what it did not see acknowledged, typically within
// seconds, so a window of the last few ten thousand messages is enough.
//
// Two generations of a fixed size keep memory bounded: when the current one
// fills up, it becomes the previous one and the old previous one is cleared
// and reused. An id is remembered for at least `size` and at most 2×size
// messages.
//
// Each generation is an open-addressing table of the hashes themselves
// (they are already uniformly distributed), at most half full: a lookup is
// a probe or two in one array, where a map would hash the hash again and
// chase its groups. A V2 message takes one lookup per property.
type dedup struct {
	size      int
	mask      uint64
	cur, prev table
}

type table struct {
	slots []uint64 // 0 = empty
	n     int
}

func newDedup(size int) *dedup {
	if size <= 0 {
		size = 1 << 16
	}
	slots := 1
	for slots < 2*size {
		slots <<= 1
	}
	return &dedup{size: size, mask: uint64(slots - 1),
		cur: table{slots: make([]uint64, slots)}, prev: table{slots: make([]uint64, slots)}}
}

// seen reports whether h was seen in the window, and remembers it.
func (d *dedup) seen(h uint64) bool {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	if d.cur.has(h, d.mask) || d.prev.has(h, d.mask) {
		return true
	}
	if d.cur.n >= d.size {
		clear(d.prev.slots)
		d.prev.n = 0
		d.prev, d.cur = d.cur, d.prev
	}
	d.cur.put(h, d.mask)
	return false
}

func (t *table) has(h, mask uint64) bool {
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (t *table) put(h, mask uint64) {
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = h
	t.n++
}
