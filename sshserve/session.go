package sshserve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/ui"
)

// ErrReadOnly is what a viewer's fleet service answers to add and revoke.
var ErrReadOnly = errors.New("read-only session: this key's role is viewer")

// readOnlyFleet lets a viewer read the clearance list and refuses the rest,
// whatever the session sends: the UI hides the keys, this refuses anyway.
type readOnlyFleet struct{ ui.FleetService }

func (readOnlyFleet) Add(context.Context, []fleet.NewVehicle) ([]fleet.AddResult, error) {
	return nil, ErrReadOnly
}

func (readOnlyFleet) Delete(context.Context, string) error { return ErrReadOnly }

// readOnlyApprovals lets a viewer see the approval requests and refuses
// to make, decide or withdraw one.
type readOnlyApprovals struct{ ui.ApprovalService }

func (readOnlyApprovals) Request(context.Context, string, string, audit.Note) (audit.Approval, error) {
	return audit.Approval{}, ErrReadOnly
}

func (readOnlyApprovals) Decide(context.Context, int64, bool) (audit.Approval, error) {
	return audit.Approval{}, ErrReadOnly
}

func (readOnlyApprovals) Withdraw(context.Context, int64) (audit.Approval, error) {
	return audit.Approval{}, ErrReadOnly
}

// Timings of a session's own checks.
const (
	resizePoll    = 250 * time.Millisecond
	closingPoll   = 100 * time.Millisecond
	maxIdleCheck  = 30 * time.Second
	shutdownLabel = "fleetdeck is shutting down"
)

// console runs one session's program: its own renderer (colour profile and
// background of this client's terminal) and its own ui.Model on the shared
// providers. Input comes from the allocated PTY; output goes straight to the
// channel so that the last words written after the program ends arrive
// after its last frame.
func (s *Server) console(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		defer next(sess)
		k, _ := sess.Context().Value(ctxSessionKey).(Key)
		pty, winch, _ := sess.Pty()
		ctx, cancel := context.WithCancel(sess.Context())
		defer cancel()
		log := s.log.With("user", sess.User(), "role", string(k.Role), "session", shortID(sess.Context().SessionID()))

		tty, err := openTTY(pty)
		if err != nil {
			log.Error("open the terminal", "err", err)
			wish.Fatalln(sess, "fleetdeck: "+err.Error())
			return
		}
		defer tty.Close()
		renderer := bubbletea.MakeRenderer(sess)
		acc := s.newAccess(k, sess.RemoteAddr())
		live := &liveSession{user: sess.User(), fingerprint: k.Fingerprint, acc: acc}
		s.mu.Lock()
		s.live[live] = struct{}{}
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.live, live)
			s.mu.Unlock()
		}()
		opts := s.sessionOptions(k, sess.User(), acc)
		opts.Renderer = renderer
		// The program's frames and a copy's OSC 52 sequence both go to the
		// channel, from different goroutines: one writer serialises them.
		out := ui.NewSerialWriter(sess)
		opts.Clipboard = out
		if opts.Logger != nil {
			opts.Logger = opts.Logger.With("user", sess.User(), "role", string(k.Role))
		}
		m, err := ui.New(ctx, opts)
		if err != nil {
			log.Error("start the console", "err", err)
			wish.Fatalln(sess, "fleetdeck: cannot start the console: "+err.Error())
			return
		}
		sizes := make(chan tea.WindowSizeMsg, 1)
		sizes <- clampedSize(pty.Window.Width, pty.Window.Height)
		model := &sessionModel{
			inner: m, ctx: ctx, r: renderer, sizes: sizes, access: acc.changed,
			shutdown: s.shutdown, deadline: s.shutdownDeadline,
			idle: s.o.IdleTimeout, now: time.Now, lastInput: time.Now(),
		}
		// followSize measures tty: it must be over before tty is closed.
		sizing := make(chan struct{})
		go func() {
			defer close(sizing)
			followSize(ctx, tty, pty.Window, winch, sizes)
		}()
		defer func() {
			cancel()
			<-sizing
		}()

		p := tea.NewProgram(model,
			tea.WithInput(tty), tea.WithOutput(out),
			tea.WithAltScreen(), tea.WithMouseCellMotion(),
			tea.WithFPS(s.o.FPS),
			// SIGTERM is the server's to handle (a graceful shutdown), not
			// every session's to quit on.
			tea.WithoutSignalHandler(),
		)
		// The client leaving ends the program with Quit, not through
		// tea.WithContext: a killed program closes its input reader while
		// the read loop may still be using it.
		ran := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				p.Quit()
			case <-ran:
			}
		}()
		_, err = p.Run()
		close(ran)
		if err != nil && ctx.Err() == nil {
			log.Warn("console ended with an error", "err", err)
		}
		if model.ended != "" {
			log.Info("session closed by the server", "why", model.ended)
			_, _ = fmt.Fprintf(sess, "fleetdeck: %s\r\n", model.ended)
		}
	}
}

func (s *Server) shutdownDeadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deadline
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// clampedSize is a terminal size as the client sent it (any uint32 in a
// pty-req or window-change), bounded to what the console lays out.
func clampedSize(w, h int) tea.WindowSizeMsg {
	w, h = ui.ClampSize(w, h)
	return tea.WindowSizeMsg{Width: w, Height: h}
}

// followSize turns the client's window changes into the program's size.
// charmbracelet/ssh's PTY resizer reads the same channel, so either may get
// a change: when the resizer gets it, the PTY takes the new size, which a
// slow poll catches. Every size is clamped on the way in.
func followSize(ctx context.Context, tty *os.File, win ssh.Window, winch <-chan ssh.Window, sizes chan tea.WindowSizeMsg) {
	t := time.NewTicker(resizePoll)
	defer t.Stop()
	last := clampedSize(win.Width, win.Height)
	offer := func(w, h int) {
		sz := clampedSize(w, h)
		if sz.Width <= 0 || sz.Height <= 0 || sz == last {
			return
		}
		last = sz
		// Keep only the newest size: an unread older one is replaced.
		select {
		case <-sizes:
		default:
		}
		sizes <- last
	}
	for {
		select {
		case <-ctx.Done():
			return
		case win, ok := <-winch:
			if !ok {
				winch = nil
				continue
			}
			offer(win.Width, win.Height)
		case <-t.C:
			if w, h, err := ttySize(tty); err == nil {
				offer(w, h)
			}
		}
	}
}

// Messages of the session model.
type (
	sizeMsg     struct{ tea.WindowSizeMsg }
	accessMsg   struct{ standing }
	shutdownMsg struct{}
	closingTick struct{}
	idleTick    struct{}
)

// sessionModel wraps one session's console with what belongs to the
// server: window sizes from the SSH channel, the idle timeout, and the
// shutdown notice (the console keeps running, input closed, until what the
// user started has finished or the grace period is over).
type sessionModel struct {
	inner    *ui.Model
	ctx      context.Context
	r        *lipgloss.Renderer
	sizes    chan tea.WindowSizeMsg
	access   chan standing // the key's standing when it changes (removed, expired, demoted)
	shutdown <-chan struct{}
	deadline func() time.Time
	idle     time.Duration
	now      func() time.Time

	w, h      int
	lastInput time.Time
	closing   bool
	ended     string // why the server closed the session ("" when the user quit)
}

func (m *sessionModel) Init() tea.Cmd {
	cmds := []tea.Cmd{m.inner.Init(), m.nextSize(), m.nextAccess(), m.waitShutdown()}
	if m.idle > 0 {
		cmds = append(cmds, m.after(m.idleCheck(), idleTick{}))
	}
	return tea.Batch(cmds...)
}

// nextSize waits for the next window size.
func (m *sessionModel) nextSize() tea.Cmd {
	ctx, sizes := m.ctx, m.sizes
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case sz := <-sizes:
			return sizeMsg{sz}
		}
	}
}

// nextAccess waits for the key's standing to change.
func (m *sessionModel) nextAccess() tea.Cmd {
	ctx, ch := m.ctx, m.access
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case st := <-ch:
			return accessMsg{st}
		}
	}
}

func (m *sessionModel) waitShutdown() tea.Cmd {
	ctx, ch := m.ctx, m.shutdown
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
			return shutdownMsg{}
		}
	}
}

// after delivers msg after d, or nothing once the session has ended.
func (m *sessionModel) after(d time.Duration, msg tea.Msg) tea.Cmd {
	ctx := m.ctx
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			return msg
		}
	}
}

func (m *sessionModel) idleCheck() time.Duration {
	return min(max(m.idle/10, time.Second), maxIdleCheck)
}

func (m *sessionModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		m.w, m.h = msg.Width, msg.Height
		_, cmd := m.inner.Update(msg.WindowSizeMsg)
		return m, tea.Batch(cmd, m.nextSize())
	case tea.WindowSizeMsg:
		sz := clampedSize(msg.Width, msg.Height)
		m.w, m.h = sz.Width, sz.Height
		_, cmd := m.inner.Update(sz)
		return m, cmd
	case accessMsg:
		if msg.ended != "" {
			m.ended = msg.ended + ": session closed"
			return m, tea.Quit
		}
		_, cmd := m.inner.Update(ui.ReadOnlyMsg{Role: string(msg.role), Reason: "your key's role is now " + string(msg.role) + ": this session is read-only"})
		return m, tea.Batch(cmd, m.nextAccess())
	case shutdownMsg:
		m.closing = true
		return m, m.windDown()
	case closingTick:
		return m, m.windDown()
	case idleTick:
		if m.closing {
			return m, nil
		}
		if quiet := m.now().Sub(m.lastInput); quiet >= m.idle {
			m.ended = fmt.Sprintf("no input for %s: session closed", m.idle.Round(time.Second))
			return m, tea.Quit
		}
		return m, m.after(m.idleCheck(), idleTick{})
	case tea.KeyMsg:
		m.lastInput = m.now()
		if m.closing {
			// Input is closed; ctrl+c still leaves at once.
			if msg.Type == tea.KeyCtrlC {
				m.ended = shutdownLabel + ": your session has ended"
				return m, tea.Quit
			}
			return m, nil
		}
	case tea.MouseMsg:
		m.lastInput = m.now()
		if m.closing {
			return m, nil
		}
	}
	_, cmd := m.inner.Update(msg)
	return m, cmd
}

// windDown quits once nothing the user started is in flight, or when the
// grace period is over.
func (m *sessionModel) windDown() tea.Cmd {
	if !m.inner.Busy() || !m.now().Before(m.deadline()) {
		m.ended = shutdownLabel + ": your session has ended"
		return tea.Quit
	}
	return m.after(closingPoll, closingTick{})
}

func (m *sessionModel) View() string {
	v := m.inner.View()
	if !m.closing || m.w <= 0 || v == "" {
		return v
	}
	// The notice takes the help line (the last one): input is closed anyway.
	lines := strings.Split(v, "\n")
	notice := " " + shutdownLabel + ": finishing what is in flight, then closing this session "
	if left := time.Until(m.deadline()); left > 0 {
		notice += fmt.Sprintf("(at most %ds) ", int(left.Seconds()+0.999))
	}
	notice = ansi.Truncate(notice, m.w, "…")
	if pad := m.w - ansi.StringWidth(notice); pad > 0 {
		notice += strings.Repeat(" ", pad)
	}
	lines[len(lines)-1] = m.r.NewStyle().Reverse(true).Bold(true).Render(notice)
	return strings.Join(lines, "\n")
}
