package stream

import "time"

// maxGaps bounds the broker gaps a pipeline remembers (the newest).
const maxGaps = 64

// Gap is a time the broker connection was down after it had been up: no
// vehicle's data could arrive. To is zero while the gap lasts.
type Gap struct {
	From, To time.Time
	Reason   string // why it went down, terminal-safe
}

// noteGap records the moments the connection goes down and comes back.
// Called under stateMu with the state before and after the change.
func (p *Pipeline) noteGap(before, after ConnState, at time.Time) {
	switch {
	case before.Phase == Connected && after.Phase != Connected:
		if len(p.gaps) == maxGaps {
			copy(p.gaps, p.gaps[1:])
			p.gaps = p.gaps[:maxGaps-1]
		}
		p.gaps = append(p.gaps, Gap{From: at, Reason: after.String()})
	case after.Phase == Connected && len(p.gaps) > 0 && p.gaps[len(p.gaps)-1].To.IsZero():
		p.gaps[len(p.gaps)-1].To = at
	}
}

// Gaps returns the broker gaps since the pipeline started, oldest first.
func (p *Pipeline) Gaps() []Gap {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return append([]Gap(nil), p.gaps...)
}
