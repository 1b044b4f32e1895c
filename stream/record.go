package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// FlushWriter buffers writes and flushes them `delay` after the first
// unflushed one (and on Flush and Close): cheap at a high rate, prompt when
// the stream goes quiet. Safe for concurrent use.
type FlushWriter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	delay  time.Duration
	timer  *time.Timer
	armed  bool
	closed bool
	err    error
}

// NewFlushWriter wraps w with a buffer of size bytes.
func NewFlushWriter(w io.Writer, size int, delay time.Duration) *FlushWriter {
	return &FlushWriter{w: bufio.NewWriterSize(w, size), delay: delay}
}

func (f *FlushWriter) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(b)
	if err != nil {
		f.err = err
		return n, err
	}
	if !f.armed && !f.closed && f.w.Buffered() > 0 {
		f.armed = true
		if f.timer == nil {
			f.timer = time.AfterFunc(f.delay, f.timedFlush)
		} else {
			f.timer.Reset(f.delay)
		}
	}
	return n, nil
}

func (f *FlushWriter) timedFlush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	if f.err == nil && !f.closed {
		f.err = f.w.Flush()
	}
}

// Flush writes out what is buffered.
func (f *FlushWriter) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = f.w.Flush()
	}
	return f.err
}

// Close flushes and stops the timer; it does not close the underlying writer.
func (f *FlushWriter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.timer != nil {
		f.timer.Stop()
	}
	if f.err == nil {
		f.err = f.w.Flush()
	}
	return f.err
}

// recorder writes what arrives, before decoding, so that a replay goes
// through the very same decoder (duplicates and malformed messages too).
type recorder struct {
	f   *os.File
	w   *FlushWriter
	buf []byte
	cmp bytes.Buffer
}

func openRecorder(path string) (*recorder, error) {
	// 0600: telemetry locates vehicles.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("telemetry record: %w", err)
	}
	return &recorder{f: f, w: NewFlushWriter(f, 64<<10, time.Second)}, nil
}

func (r *recorder) write(it *inboxItem) {
	b := append(r.buf[:0], `{"t":"`...)
	b = time.Unix(0, it.arrival).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","topic":`...)
	b = appendJSONString(b, it.topic)
	if end, ok := scanValue(it.payload, skipSpace(it.payload, 0), 0); ok && skipSpace(it.payload, end) == len(it.payload) {
		b = append(b, `,"payload":`...)
		if bytes.ContainsAny(it.payload, "\n\r") {
			r.cmp.Reset()
			if json.Compact(&r.cmp, it.payload) == nil {
				b = append(b, r.cmp.Bytes()...)
			}
		} else {
			b = append(b, bytes.TrimSpace(it.payload)...)
		}
	} else {
		b = append(b, `,"payload_b64":"`...)
		b = base64.StdEncoding.AppendEncode(b, it.payload)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	r.buf = b
	_, _ = r.w.Write(b) // a write error sticks in w and is reported by Close
}

func (r *recorder) Close() error {
	err := r.w.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replay feeds a recording into the inbox: as fast as the decoder takes it,
// or at the recorded pace.
func (p *Pipeline) replay(ctx context.Context) error {
	f, err := os.Open(p.opts.Replay)
	if err != nil {
		return fmt.Errorf("telemetry replay: %w", err)
	}
	defer f.Close()
	p.setState(ConnState{Phase: Replaying, Reason: p.opts.Replay})
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4*MaxPayload)
	var first int64
	start := time.Now()
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		it, err := parseRecord(sc.Bytes())
		if err != nil {
			return fmt.Errorf("telemetry replay %s line %d: %w", p.opts.Replay, line, err)
		}
		if p.opts.ReplayPace {
			if first == 0 {
				first = it.arrival
			}
			if wait := time.Until(start.Add(time.Duration(it.arrival - first))); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil
				}
			}
			it.arrival = time.Now().UnixNano()
		}
		p.received.Add(1)
		if err := p.inbox.pushWait(ctx, it); err != nil {
			return nil // ctx ended
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("telemetry replay %s line %d: %w", p.opts.Replay, line+1, err)
	}
	return nil
}

// parseRecord reads one line of a recording. The payload is copied: the
// scanner reuses its buffer.
func parseRecord(line []byte) (inboxItem, error) {
	it, ok := iterObject(line)
	if !ok {
		return inboxItem{}, fmt.Errorf("not a JSON object")
	}
	var out inboxItem
	var haveT, haveTopic, havePayload bool
	for {
		k, kesc, v, more := it.next()
		if !more {
			break
		}
		if kesc {
			continue
		}
		switch string(k) {
		case "t":
			if v[0] == '"' {
				out.arrival, haveT = parseTimestamp(v[1 : len(v)-1])
			}
		case "topic":
			if v[0] == '"' {
				s, err := unquote(v[1 : len(v)-1])
				if err != nil {
					return inboxItem{}, fmt.Errorf("topic: %w", err)
				}
				out.topic, haveTopic = s, true
			}
		case "payload":
			out.payload, havePayload = bytes.Clone(v), true
		case "payload_b64":
			if v[0] == '"' {
				b, err := base64.StdEncoding.AppendDecode(nil, v[1:len(v)-1])
				if err != nil {
					return inboxItem{}, fmt.Errorf("payload_b64: %w", err)
				}
				out.payload, havePayload = b, true
			}
		}
	}
	if !it.finish() {
		return inboxItem{}, fmt.Errorf("not valid JSON")
	}
	if !haveT || !haveTopic || !havePayload {
		return inboxItem{}, fmt.Errorf(`need "t" (RFC 3339), "topic" and "payload"`)
	}
	return out, nil
}
