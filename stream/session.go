package stream

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

const subscribeTimeout = 10 * time.Second

// errClientStopped is what a stopped client's dialer answers.
var errClientStopped = errors.New("telemetry: client stopped")

// runMQTT holds the broker session until ctx ends. paho reconnects by itself
// (AutoReconnect, ConnectRetry); the pipeline only keeps its state, and
// subscribes again on every connection in OnConnect: a subscription made
// once after Connect would be lost when a broker restarts without the
// session.
//
// When another client takes the session over (same client id) again and
// again, the fight stops: the process that came second ends with one line
// that says so, the one that held the session first pauses (10 s, doubling
// up to 5 min) before it connects again.
func (p *Pipeline) runMQTT(ctx context.Context) error {
	o := p.opts.MQTT
	watch := newTakeoverWatch(o)
	backoff := o.takeoverBackoff
	if backoff <= 0 {
		backoff = defaultTakeoverBackoff
	}
	p.setState(ConnState{Phase: Connecting, Attempt: 1})
	for {
		// The client's callbacks may run after it is disconnected: once
		// clientCtx ends, they no longer touch the state.
		clientCtx, stopClient := context.WithCancel(ctx)
		co, err := p.clientOptions(clientCtx, o, watch)
		if err != nil {
			stopClient()
			return err
		}
		client := mqtt.NewClient(co)
		started := time.Now()
		client.Connect() // with ConnectRetry the token only completes once connected: state comes from the callbacks
		select {
		case <-ctx.Done():
			stopClient()
			client.Disconnect(250)
			return nil
		case <-watch.fired:
		}
		stopClient()
		client.Disconnect(0)
		taken := fmt.Sprintf("another client with id %q took this session", co.ClientID)
		if !watch.incumbent() {
			return fmt.Errorf("telemetry: %s (the broker closed our connections right after each began): stopped; "+
				"run one process per client id (on the ops box, fleetdeck telemetry tail --attach reads fleetdeck serve's stream)", taken)
		}
		if time.Since(started) > maxTakeoverBackoff {
			backoff = o.takeoverBackoff // the last fight is long over
			if backoff <= 0 {
				backoff = defaultTakeoverBackoff
			}
		}
		p.log.Warn("telemetry: "+taken+": pausing instead of taking it back at once", "client_id", co.ClientID, "pause", backoff)
		p.setState(ConnState{Phase: Reconnecting, Reason: fmt.Sprintf("%s: connecting again in %s", taken, backoff)})
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxTakeoverBackoff)
		watch.restart()
	}
}

func (p *Pipeline) clientOptions(ctx context.Context, o Options, watch *takeoverWatch) (*mqtt.ClientOptions, error) {
	if o.Broker == "" {
		return nil, errors.New("telemetry: no broker configured")
	}
	if err := needClientID(o); err != nil {
		return nil, err
	}
	u, err := url.Parse(o.Broker)
	if err != nil {
		return nil, fmt.Errorf("telemetry broker %q: %w", o.Broker, err)
	}
	var tlsCfg *tls.Config
	switch u.Scheme {
	case "tcp", "mqtt", "ws":
	case "ssl", "tls", "mqtts", "tcps", "mqtt+ssl", "wss":
		if tlsCfg, err = o.tlsConfig(u.Hostname()); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("telemetry broker %q: scheme must be tcp, ssl, tls, ws or wss", o.Broker)
	}
	if len(o.Topics) == 0 || slices.Contains(o.Topics, "") {
		return nil, errors.New("telemetry: no topic to subscribe to")
	}
	if o.QoS > 2 {
		return nil, fmt.Errorf("telemetry: qos %d: must be 0, 1 or 2", o.QoS)
	}
	// A configured id is a persistent session; a made-up one is unique to
	// this pipeline, and nobody would resume its session.
	clientID, persistent := o.ClientID, o.ClientID != ""
	if !persistent {
		clientID = DefaultClientID(o.Profile)
	}
	maxRetry := o.MaxReconnectInterval
	if maxRetry <= 0 || maxRetry > time.Second {
		maxRetry = time.Second
	}
	connectTimeout := o.ConnectTimeout
	if connectTimeout <= 0 {
		connectTimeout = 5 * time.Second
	}
	keepAlive := o.KeepAlive
	if keepAlive <= 0 {
		keepAlive = 30 * time.Second
	}

	// The handler runs on paho's router goroutine (SetOrderMatters(true)
	// calls it in line, in order): it only stamps and queues.
	handler := func(_ mqtt.Client, m mqtt.Message) {
		p.enqueue(m.Topic(), m.Payload(), time.Now().UnixNano())
	}
	co := mqtt.NewClientOptions().
		AddBroker(o.Broker).
		SetClientID(clientID).
		SetProtocolVersion(4).
		SetCleanSession(!persistent).
		SetOrderMatters(true).
		SetDefaultPublishHandler(handler).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxRetry).
		SetConnectRetry(true).
		SetConnectRetryInterval(maxRetry).
		SetConnectTimeout(connectTimeout).
		SetKeepAlive(keepAlive).
		SetPingTimeout(10 * time.Second).
		SetCustomOpenConnectionFn(openConn(ctx, tlsCfg, connectTimeout)).
		SetOnConnectHandler(func(c mqtt.Client) { p.subscribe(ctx, c, o.Topics, o.QoS, handler) }).
		SetConnectionNotificationHandler(func(c mqtt.Client, n mqtt.ConnectionNotification) {
			if watch != nil {
				switch n.(type) {
				case mqtt.ConnectionNotificationConnected:
					watch.connected(time.Now())
				case mqtt.ConnectionNotificationLost:
					watch.lost(time.Now())
				}
			}
			p.onConnection(ctx, c, n)
		})
	if tlsCfg != nil {
		co.SetTLSConfig(tlsCfg)
	}
	return co, nil
}

func (o Options) tlsConfig(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("telemetry ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("telemetry ca_file %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		certPEM, err := os.ReadFile(o.CertFile)
		if err != nil {
			return nil, fmt.Errorf("telemetry cert_file: %w", err)
		}
		// The key is a secret like every other: 0600 or refused, with the
		// chmod that fixes it.
		keyPEM, err := config.ReadSecretFile(o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("telemetry key_file: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, []byte(keyPEM))
		if err != nil {
			// The error names the files, never their content.
			return nil, fmt.Errorf("telemetry client certificate %s / key %s: %w", o.CertFile, o.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case o.CertFile != "" || o.KeyFile != "":
		return nil, errors.New("telemetry: cert_file and key_file go together")
	}
	return cfg, nil
}

// subscribe runs on every (re)connection, with every filter in one
// SUBSCRIBE. The state turns Connected once the broker has granted the
// subscription (a persistent session may deliver queued messages a moment
// earlier). A broker that refuses some filters (say the leading-slash form
// its ACL does not know) leaves the others working, which the state's reason
// says; refusing all of them turns the state to Failed.
func (p *Pipeline) subscribe(ctx context.Context, c mqtt.Client, topics []string, qos byte, h mqtt.MessageHandler) {
	filters := make(map[string]byte, len(topics))
	for _, t := range topics {
		filters[t] = qos
	}
	what := strings.Join(topics, ", ")
	tok := c.SubscribeMultiple(filters, h)
	t := time.NewTimer(subscribeTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return
	case <-t.C:
		p.clientState(ctx, func(s ConnState) ConnState {
			s.Reason = "subscribe " + what + ": no answer from the broker"
			return s
		})
		return
	}
	if err := tok.Error(); err != nil {
		p.log.Warn("telemetry subscribe failed", "topics", topics, "err", err)
		p.clientState(ctx, func(s ConnState) ConnState {
			s.Reason = "subscribe " + what + ": " + termsafe.String(err.Error())
			return s
		})
		return
	}
	var refused []string
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for topic, code := range st.Result() {
			if code == 0x80 {
				refused = append(refused, topic)
			}
		}
	}
	slices.Sort(refused)
	if len(refused) == len(topics) {
		p.clientState(ctx, func(ConnState) ConnState {
			return ConnState{Phase: Failed, Reason: "the broker refused the subscription to " + what}
		})
		return
	}
	reason := ""
	if len(refused) > 0 {
		reason = "the broker refused " + strings.Join(refused, ", ") + "; receiving the other topics"
		p.log.Warn("telemetry subscription partly refused", "refused", refused)
	}
	p.log.Info("telemetry connected", "topics", topics)
	// Connected once subscribed: with a fresh session nothing flows before.
	p.clientState(ctx, func(s ConnState) ConnState {
		if !c.IsConnectionOpen() {
			return s // lost again meanwhile; the notifications say so
		}
		return ConnState{Phase: Connected, Reason: reason}
	})
}

// onConnection turns paho's notifications into the state. Lost arrives on
// a goroutine of its own and may come after the reconnection it caused, so
// the client's own view decides. ctx is the client's: see clientState.
func (p *Pipeline) onConnection(ctx context.Context, c mqtt.Client, n mqtt.ConnectionNotification) {
	switch n := n.(type) {
	case mqtt.ConnectionNotificationConnecting:
		p.clientState(ctx, func(s ConnState) ConnState {
			if s.Phase == Failed {
				return s // retrying does not make a refused certificate good
			}
			if n.IsReconnect {
				return ConnState{Phase: Reconnecting, Attempt: n.Attempt + 1, Reason: s.Reason}
			}
			return ConnState{Phase: Connecting, Attempt: n.Attempt + 1, Reason: s.Reason}
		})
	case mqtt.ConnectionNotificationFailed:
		reason := termsafe.String(describeConnErr(n.Reason))
		p.log.Debug("telemetry connection attempt failed", "err", n.Reason)
		p.clientState(ctx, func(s ConnState) ConnState {
			if permanent(n.Reason) {
				return ConnState{Phase: Failed, Attempt: s.Attempt, Reason: reason}
			}
			s.Reason = reason
			return s
		})
	case mqtt.ConnectionNotificationLost:
		reason := "connection lost"
		if n.Reason != nil {
			reason = termsafe.String("connection lost: " + n.Reason.Error())
		}
		p.log.Info("telemetry connection lost", "err", n.Reason)
		p.clientState(ctx, func(s ConnState) ConnState {
			if c.IsConnectionOpen() {
				return s // already back: this notification is late
			}
			if s.Phase == Reconnecting {
				s.Reason = reason
				return s
			}
			return ConnState{Phase: Reconnecting, Reason: reason}
		})
	}
}

// clientState updates the state from a client's callback, unless the
// client was stopped (ctx ended): paho runs its callbacks on goroutines of
// their own, which may come after the pipeline moved on (a new client, or
// Failed once Run returns).
func (p *Pipeline) clientState(ctx context.Context, f func(ConnState) ConnState) {
	p.updateState(func(s ConnState) ConnState {
		if ctx.Err() != nil {
			return s
		}
		return f(s)
	})
}

// permanent reports errors that retrying will not fix: the broker refusing
// who we are, or a certificate that does not verify.
func permanent(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion),
		errors.Is(err, packets.ErrorRefusedIDRejected),
		errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword),
		errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return true
	}
	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var alert tls.AlertError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownAuthority) || errors.As(err, &invalid) || errors.As(err, &hostname) ||
		errors.As(err, &alert) || errors.As(err, &verify)
}

func describeConnErr(err error) string {
	if err == nil {
		return "unknown error"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		if op.Addr == nil { // a name that does not resolve has no address yet
			return op.Op + ": " + op.Err.Error()
		}
		return op.Op + " " + op.Addr.String() + ": " + op.Err.Error()
	}
	return err.Error()
}

// openConn dials like paho would, but reads through a buffer: paho reads a
// packet's fixed header byte by byte, which on a plain TCP connection costs
// several system calls per message. Once ctx (the client's) ends it dials
// no more: paho may have a reconnection under way when the client is
// stopped, and a stopped client that still connected would take the
// session from whoever holds it.
func openConn(ctx context.Context, tlsCfg *tls.Config, timeout time.Duration) mqtt.OpenConnectionFunc {
	return func(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
		if ctx.Err() != nil {
			return nil, errClientStopped
		}
		d := &net.Dialer{Timeout: timeout}
		var conn net.Conn
		var err error
		switch u.Scheme {
		case "ws", "wss":
			dial := *u
			dial.User = nil
			var c *tls.Config
			if u.Scheme == "wss" {
				c = tlsCfg
			}
			conn, err = mqtt.NewWebsocket(dial.String(), c, timeout, o.HTTPHeaders, o.WebsocketOptions)
		case "tcp", "mqtt":
			conn, err = d.DialContext(ctx, "tcp", u.Host)
		default:
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsCfg}).DialContext(ctx, "tcp", u.Host)
		}
		if err != nil {
			return nil, err
		}
		return &bufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, 32<<10)}, nil
	}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }
