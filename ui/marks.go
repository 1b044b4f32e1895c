package ui

import (
	"slices"
)

// markSet is the console's marked vehicles (the mark key): one set for all
// views, so vehicles marked in Clearance are the ones a bulk send in
// Commands goes to. A bulk action lists them, asks once, and runs on each.
type markSet struct {
	vins map[string]struct{}
}

func newMarkSet() *markSet { return &markSet{vins: map[string]struct{}{}} }

// toggle marks vin or unmarks it, and reports whether it is marked now.
func (s *markSet) toggle(vin string) bool {
	if _, ok := s.vins[vin]; ok {
		delete(s.vins, vin)
		return false
	}
	s.vins[vin] = struct{}{}
	return true
}

func (s *markSet) has(vin string) bool {
	_, ok := s.vins[vin]
	return ok
}

func (s *markSet) len() int { return len(s.vins) }

// list is the marked VINs in order.
func (s *markSet) list() []string {
	out := make([]string, 0, len(s.vins))
	for v := range s.vins {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func (s *markSet) clear() { clear(s.vins) }

func (s *markSet) remove(vins ...string) {
	for _, v := range vins {
		delete(s.vins, v)
	}
}
