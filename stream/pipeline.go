package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// PipelineOptions configure a Pipeline. The source is the MQTT session
// described by MQTT, or the recording named by Replay.
type PipelineOptions struct {
	MQTT Options

	// Replay feeds an NDJSON recording (see Record) in as if it came from the
	// broker, as fast as possible unless ReplayPace is set. Run returns when
	// the recording has been applied.
	Replay     string
	ReplayPace bool

	// Record appends every message received to this file, one JSON object a
	// line: {"t": arrival (RFC 3339, ns), "topic", "payload": raw JSON}.
	Record string

	// OnMessage sees every applied property update (not duplicates, not
	// malformed ones; a V2 message gives one call per property), on the
	// decode goroutine, in order. It must return quickly: the queue in
	// front of the decoder is bounded. The Message is reused after it
	// returns.
	OnMessage func(*Message)
	// OnState sees every change of the connection state. It must not block.
	OnState func(ConnState)

	QueueSize   int // bound of the queue between the MQTT handler and the decoder (default 16384)
	DedupWindow int // message ids remembered per generation (default 65536)
	Store       StoreOptions
	Logger      *slog.Logger // nil: MQTT.Logger, else discard
}

// Pipeline is decode → dedup → store for one source, shared by every view
// (and SSH session) of the process.
type Pipeline struct {
	opts  PipelineOptions
	log   *slog.Logger
	store *Store
	inbox *inbox

	received, applied, duplicates, malformed atomic.Uint64
	oversized, dropped, failures, overflow   atomic.Uint64

	stateMu sync.Mutex
	state   ConnState
	gaps    []Gap // gaps.go

	changed chan struct{} // 1: the store or the state changed since the feed last looked
	running atomic.Bool
	feedMu  sync.Mutex
	feed    *Feed
}

// NewPipeline returns a pipeline; nothing runs until Run.
func NewPipeline(opts PipelineOptions) *Pipeline {
	log := opts.Logger
	if log == nil {
		log = opts.MQTT.Logger
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{
		opts:    opts,
		log:     log,
		store:   NewStore(opts.Store),
		inbox:   newInbox(opts.QueueSize),
		changed: make(chan struct{}, 1),
	}
	p.state = ConnState{Phase: Connecting, Since: time.Now()}
	if opts.Replay != "" {
		p.state.Phase = Replaying
	}
	return p
}

// Store returns the latest-value store the pipeline fills.
func (p *Pipeline) Store() *Store { return p.store }

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	return Stats{
		Received:   p.received.Load(),
		Applied:    p.applied.Load(),
		Duplicates: p.duplicates.Load(),
		Malformed:  p.malformed.Load(),
		Oversized:  p.oversized.Load(),
		Dropped:    p.dropped.Load(),
		Failures:   p.failures.Load(),
		Overflow:   p.overflow.Load(),
	}
}

// State returns the connection state.
func (p *Pipeline) State() ConnState {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.state
}

func (p *Pipeline) setState(s ConnState) {
	p.updateState(func(ConnState) ConnState { return s })
}

// updateState computes the next state from the current one, atomically:
// paho reports from several goroutines, and a decision taken on a state
// that changed meanwhile would undo the newer one.
func (p *Pipeline) updateState(f func(ConnState) ConnState) {
	p.stateMu.Lock()
	s := f(p.state)
	// Reasons quote errors, and errors can quote the network: every
	// observer (the views, tail's stderr) gets them safe to draw.
	s.Reason = termsafe.String(s.Reason)
	if s.same(p.state) {
		p.stateMu.Unlock()
		return
	}
	s.Since = time.Now()
	p.noteGap(p.state, s, s.Since)
	p.state = s
	// Called under the lock so that observers see changes in order.
	if p.opts.OnState != nil {
		p.opts.OnState(s)
	}
	p.stateMu.Unlock()
	p.signal()
}

func (p *Pipeline) signal() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// enqueue is the MQTT handler's whole job: count, queue, never block.
func (p *Pipeline) enqueue(topic string, payload []byte, arrival int64) {
	p.received.Add(1)
	if !p.inbox.push(inboxItem{topic: topic, payload: payload, arrival: arrival}) {
		p.dropped.Add(1)
	}
}

// Run runs the source (the MQTT session, or the replay) and the decoder
// until ctx ends or the recording is done. It returns nil then, or the error
// that stopped the source (bad TLS files, unreadable recording, ...).
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("telemetry pipeline: already running")
	}
	var rec *recorder
	if p.opts.Record != "" {
		var err error
		if rec, err = openRecorder(p.opts.Record); err != nil {
			p.setState(ConnState{Phase: Failed, Reason: err.Error()})
			return err
		}
	}

	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		p.work(ctx, rec)
	}()

	var err error
	if p.opts.Replay != "" {
		err = p.replay(ctx)
	} else {
		err = p.runMQTT(ctx)
	}
	p.inbox.close()
	<-workerDone
	if rec != nil {
		if cerr := rec.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("telemetry record %s: %w", p.opts.Record, cerr)
		}
	}
	switch {
	case err != nil:
		p.setState(ConnState{Phase: Failed, Reason: err.Error()})
	case p.opts.Replay != "" && ctx.Err() == nil:
		p.setState(ConnState{Phase: Stopped, Reason: "end of recording"})
	default:
		p.setState(ConnState{Phase: Stopped})
	}
	return err
}

// work is the decode goroutine: decode → dedup → store → OnMessage.
func (p *Pipeline) work(ctx context.Context, rec *recorder) {
	w := p.newWorker(rec)
	for {
		items, ok := p.inbox.take(ctx)
		if !ok {
			return
		}
		changed := false
		for i := range items {
			if w.process(&items[i]) {
				changed = true
			}
		}
		if changed {
			p.signal()
		}
	}
}

// worker holds what the decode goroutine reuses from message to message.
type worker struct {
	p          *Pipeline
	rec        *recorder
	dec        *decoder
	dd         *dedup
	errs       []error // applyAll's results
	suspicious suspiciousLog
}

func (p *Pipeline) newWorker(rec *recorder) *worker {
	return &worker{p: p, rec: rec, dec: newDecoder(p.opts.MQTT.Pseudonymized), dd: newDedup(p.opts.DedupWindow)}
}

// process handles one MQTT message (one property update for V1, several
// for V2) and reports whether the store changed.
func (w *worker) process(it *inboxItem) bool {
	p := w.p
	if len(it.payload) > MaxPayload {
		p.oversized.Add(1)
		return false
	}
	if w.rec != nil {
		w.rec.write(it)
	}
	msgs, err := w.dec.decode(it.topic, it.payload)
	if err != nil {
		p.malformed.Add(1)
		if sid, ok := errors.AsType[*suspiciousID](err); ok {
			w.suspicious.report(p.log, it.topic, sid)
		} else {
			p.log.Debug("telemetry message skipped", "err", err, "bytes", len(it.payload))
		}
		return false
	}
	if n := w.dec.skipped; n > 0 {
		p.malformed.Add(uint64(n))
		p.log.Debug("telemetry properties skipped", "count", n, "bytes", len(it.payload))
	}
	// One message_id check per MQTT message: a V2 message's updates share
	// their message's (see decodeV2).
	if msgs[0].MessageID != nil && w.dd.seen(msgs[0].hash) {
		p.duplicates.Add(uint64(len(msgs)))
		return false
	}
	arrival := time.Unix(0, it.arrival)
	for i := range msgs {
		msgs[i].Arrival = arrival
	}
	w.errs = p.store.applyAll(msgs, w.errs[:0])
	changed := false
	for i := range msgs {
		m := &msgs[i]
		if w.errs[i] != nil {
			p.overflow.Add(1)
			continue
		}
		p.applied.Add(1)
		if m.Failure != nil {
			p.failures.Add(1)
		}
		if p.opts.OnMessage != nil {
			p.opts.OnMessage(m)
		}
		changed = true
	}
	return changed
}
