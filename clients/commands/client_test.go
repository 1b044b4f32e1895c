package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
)

const (
	testToken  = "tok-3f9a1c-bearer-secret"
	testSecret = "YOUR_SIGN_SECRET_PROVIDED_BY_MOBWAY" // the vectors' secret
	testCode   = "482913"
)

// vectorFor returns the Python-made vector for vin and command under
// testSecret, so the fake server checks bodies and signatures without
// using the code under test.
func vectorFor(t *testing.T, vin, command string) vector {
	t.Helper()
	for _, v := range loadVectors(t) {
		if v.Secret == testSecret && v.VIN == vin && v.Command == command {
			return v
		}
	}
	t.Fatalf("no vector for %s %s", vin, command)
	return vector{}
}

// request is what the fake server saw.
type request struct {
	Method, Path string
	Header       http.Header
	Body         string
}

type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []request
}

func newServer(t *testing.T, h func(w http.ResponseWriter, r request)) *fakeServer {
	t.Helper()
	fs := &fakeServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: string(b)}
		fs.mu.Lock()
		fs.seen = append(fs.seen, req)
		fs.mu.Unlock()
		h(w, req)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeServer) requests() []request {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]request(nil), fs.seen...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// instant is a sleep that records the waits and only honours ctx.
type instant struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *instant) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func newClient(url string, opts ...commands.Option) *commands.Client {
	return commands.New(url, testToken, commands.NewSigner(testSecret), httpapi.New(httpapi.Options{}), opts...)
}

// checkHeaders asserts what every POST carries.
func checkPOST(t *testing.T, r request, wantSig string) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != "/vehicle-command" {
		t.Errorf("got %s %s, want POST /vehicle-command", r.Method, r.Path)
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		t.Error("Authorization is not the bearer token")
	}
	if got := r.Header.Get("X-Signature"); got != wantSig {
		t.Errorf("X-Signature = %s, want %s", got, wantSig)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "fleetdeck/") {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestSendSingleStep(t *testing.T) {
	v := vectorFor(t, "6AHFT68CKAF501652", "diagnostics")
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		writeJSON(w, 200, `{"id":"8619b2df-1d68-40e1-8760-cf36f06d00b5","vin":"6AHFT68CKAF501652","command":"diagnostics","status":"Pending","created":"2023-02-14 09:51:48"}`)
	})
	res, err := newClient(srv.URL+"/").Send(context.Background(), v.VIN, v.Command, "")
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	checkPOST(t, reqs[0], v.Signature)
	if reqs[0].Body != v.CanonicalBody {
		t.Errorf("body %s, want exactly %s", reqs[0].Body, v.CanonicalBody)
	}
	if res.Confirmation != nil || res.Command == nil {
		t.Fatalf("want a Command only, got %+v", res)
	}
	c := res.Command
	if c.ID != "8619b2df-1d68-40e1-8760-cf36f06d00b5" || c.Status != commands.StatusPending || c.VIN != v.VIN || c.Command != "diagnostics" {
		t.Errorf("command %+v", c)
	}
	if want := time.Date(2023, 2, 14, 12, 51, 48, 0, time.UTC); !c.Created.Equal(want) {
		t.Errorf("Created = %v, want %v (09:51:48 at UTC-3)", c.Created, want)
	}
	if c.Terminal() {
		t.Error("Pending is not terminal")
	}
}

func TestTwoStepConfirmationThenFollowToSuccess(t *testing.T) {
	v := vectorFor(t, "6AHFT68CKAF501652", "enable_ignition")
	// The second body is the first with the code added as the first key
	// (sorted), written by hand from the vector.
	withCode := `{"code":"` + testCode + `",` + strings.TrimPrefix(v.CanonicalBody, "{")
	const message = "Atenção: a ignição do veículo será habilitada. Confirme com o código.\x1b[31m"
	var polls atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		switch {
		case r.Method == http.MethodPost && r.Body == v.CanonicalBody:
			b, _ := json.Marshal(map[string]string{"vin": v.VIN, "command": v.Command, "status": "Confirmation", "code": testCode, "message": message})
			writeJSON(w, 200, string(b))
		case r.Method == http.MethodPost && r.Body == withCode:
			writeJSON(w, 200, `{"id":"c-1","vin":"6AHFT68CKAF501652","command":"enable_ignition","status":"Pending","created":"2023-02-14 09:51:48"}`)
		case r.Method == http.MethodGet && r.Path == "/vehicle-command/c-1":
			n := polls.Add(1)
			status, detail := "Pending", `null`
			if n >= 3 {
				status, detail = "Success", `{"ignition": {"state": "on"}}`
			}
			writeJSON(w, 200, `{"id":"c-1","vin":"6AHFT68CKAF501652","command":"enable_ignition","status":"`+status+`","detail":`+detail+`,"updated":"2023-02-14 09:52:0`+fmt.Sprint(n)+`"}`)
		default:
			writeJSON(w, 400, `{"detail":"X-Signature invalid."}`)
		}
	})
	sl := &instant{}
	c := newClient(srv.URL, commands.WithSleep(sl.sleep))
	ctx := context.Background()

	res, err := c.Send(ctx, v.VIN, v.Command, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Command != nil || res.Confirmation == nil {
		t.Fatalf("want a Confirmation, got %+v", res)
	}
	conf := res.Confirmation
	if conf.Code != testCode || conf.VIN != v.VIN || conf.Command != v.Command {
		t.Errorf("confirmation fields wrong (code match %v)", conf.Code == testCode)
	}
	if want := "Atenção: a ignição do veículo será habilitada. Confirme com o código."; conf.Message != want {
		t.Errorf("message %q, want %q (Portuguese kept, escape removed)", conf.Message, want)
	}

	res, err = c.Send(ctx, v.VIN, v.Command, " "+conf.Code+"\n")
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	checkPOST(t, reqs[0], v.Signature)
	checkPOST(t, reqs[1], v.Signature) // the code is not signed
	if reqs[1].Body != withCode {
		t.Errorf("second body %s, want %s", reqs[1].Body, withCode)
	}
	if res.Command == nil || res.Command.ID != "c-1" {
		t.Fatalf("want command c-1, got %+v", res)
	}

	var changes []commands.Status
	final, err := c.Follow(ctx, res.Command.ID, func(cmd commands.Command) { changes = append(changes, cmd.Status) })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(changes) != "[Pending Success]" {
		t.Errorf("each saw %v, want [Pending Success]", changes)
	}
	if final.Status != commands.StatusSuccess || !final.Terminal() {
		t.Errorf("final %+v", final)
	}
	if got := final.DetailText(); got != `{"ignition":{"state":"on"}}` {
		t.Errorf("DetailText = %s", got)
	}
	if want := time.Date(2023, 2, 14, 12, 52, 3, 0, time.UTC); !final.Updated.Equal(want) {
		t.Errorf("Updated = %v, want %v", final.Updated, want)
	}
	for _, r := range srv.requests()[2:] {
		if r.Header.Get("Authorization") != "Bearer "+testToken || r.Body != "" {
			t.Error("status poll without bearer token, or with a body")
		}
	}
	if len(sl.waits) != 2 || sl.waits[0] < 400*time.Millisecond || sl.waits[0] > 600*time.Millisecond || sl.waits[1] < 800*time.Millisecond {
		t.Errorf("waits %v, want about 500ms then about 1s", sl.waits)
	}
}

func TestSendRejectsBadCodeWithoutRequest(t *testing.T) {
	var hits atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r request) { hits.Add(1); writeJSON(w, 500, `{}`) })
	c := newClient(srv.URL)
	for _, code := range []string{"12345", "1234567", "12a456", "１２３４５６", "12 456", "-12345", "123456789012"} {
		_, err := c.Send(context.Background(), "6AHFT68CKAF501652", "enable_ignition", code)
		if !errors.Is(err, commands.ErrCodeFormat) {
			t.Errorf("code %d chars: err %v, want ErrCodeFormat", len(code), err)
		}
		if err != nil && strings.Contains(err.Error(), code) {
			t.Error("error shows the code")
		}
	}
	for _, in := range [][2]string{{"", "lock_door"}, {"6AHFT68CKAF501652", ""}, {"6AHFT68CKAF501652", "lock\xffdoor"}} {
		if _, err := c.Send(context.Background(), in[0], in[1], ""); err == nil {
			t.Errorf("Send(%q, %q) accepted", in[0], in[1])
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests sent for invalid input", hits.Load())
	}
}

// documented holds every detail of document 002, verbatim.
var documented = []struct {
	detail string
	kind   error
}{
	{"Invalid VIN. VIN must be a string. At least one VIN is required.", commands.ErrInvalidVIN},
	{"Invalid command. Command must be a string. At least one command is required.", commands.ErrInvalidCommand},
	{"VIN not found or unauthorized access.", commands.ErrVINNotFound},
	{"Command not found or unauthorized access.", commands.ErrCommandNotFound},
	{"Sign-secret not found.", commands.ErrSignSecretNotFound},
	{"X-Signature invalid.", commands.ErrSignatureInvalid},
	{"Failed to send command to the OEM.", commands.ErrOEMSend},
	{"Failed to initiate command with the OEM or retrieve status URL.", commands.ErrOEMInitiate},
	{"Confirmation invalid", commands.ErrConfirmationInvalid},
	{"Confirmation already used", commands.ErrConfirmationUsed},
}

func TestEveryDocumentedDetailMapsToSentinelAndHint(t *testing.T) {
	variants := map[string]func(string) string{
		"verbatim":   func(s string) string { return s },
		"lower":      strings.ToLower,
		"no period":  func(s string) string { return strings.TrimSuffix(s, ".") },
		"padded":     func(s string) string { return "  " + s + ". \n" },
		"upper":      strings.ToUpper,
		"inner runs": func(s string) string { return strings.ReplaceAll(s, " ", "  ") },
	}
	for _, d := range documented {
		for name, variant := range variants {
			status := 400
			detail := variant(d.detail)
			srv := newServer(t, func(w http.ResponseWriter, r request) {
				b, _ := json.Marshal(map[string]string{"detail": detail})
				writeJSON(w, status, string(b))
			})
			_, err := newClient(srv.URL).Send(context.Background(), "6AHFT68CKAF501652", "enable_ignition", testCode)
			var de *commands.DetailError
			if !errors.As(err, &de) {
				t.Fatalf("%q (%s): err %v, want *DetailError", d.detail, name, err)
			}
			if !errors.Is(err, d.kind) || de.Kind != d.kind {
				t.Errorf("%q (%s): Kind %v, want %v", d.detail, name, de.Kind, d.kind)
			}
			if de.Hint == "" || !strings.Contains(err.Error(), de.Hint) {
				t.Errorf("%q (%s): no hint in %q", d.detail, name, err)
			}
			if de.HTTPStatus != status {
				t.Errorf("HTTPStatus %d", de.HTTPStatus)
			}
			restart := d.kind == commands.ErrConfirmationInvalid || d.kind == commands.ErrConfirmationUsed
			if commands.RestartsFlow(err) != restart {
				t.Errorf("%q: RestartsFlow = %v", d.detail, !restart)
			}
			checkNoSecrets(t, err)
		}
	}
}

func TestConfirmationUsedHintSaysSendAgain(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		writeJSON(w, 409, `{"detail":"Confirmation already used"}`)
	})
	_, err := newClient(srv.URL).Send(context.Background(), "6AHFT68CKAF501652", "disable_ignition", testCode)
	if err == nil || !strings.Contains(err.Error(), "without a code") {
		t.Errorf("err %v: want the hint to say send again without a code", err)
	}
}

func TestOtherFailures(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		ctype, body string
		check       func(t *testing.T, err error)
	}{
		{"unknown detail is kept, sanitized", 422, "application/json", `{"detail":"Vehicle asleep\u001b[2J; wake it first"}`, func(t *testing.T, err error) {
			var de *commands.DetailError
			if !errors.As(err, &de) || de.Kind != nil || de.Detail != "Vehicle asleep; wake it first" {
				t.Errorf("got %#v", err)
			}
		}},
		{"FastAPI validation list", 422, "application/json", `{"detail":[{"loc":["body","code"],"msg":"String should have at most 6 characters","input":"` + testCode + `"}]}`, func(t *testing.T, err error) {
			var de *commands.DetailError
			if !errors.As(err, &de) || de.Detail != "code: String should have at most 6 characters" {
				t.Errorf("got %v", err)
			}
		}},
		{"401 without detail", 401, "application/json", `{}`, func(t *testing.T, err error) {
			if !errors.Is(err, commands.ErrUnauthorized) || !strings.Contains(err.Error(), "FLEETDECK_COMMANDS_TOKEN") {
				t.Errorf("got %v", err)
			}
		}},
		{"401 with an undocumented detail", 401, "application/json", `{"detail":"Invalid token."}`, func(t *testing.T, err error) {
			var de *commands.DetailError
			if !errors.As(err, &de) || de.Kind != commands.ErrUnauthorized || de.Detail != "Invalid token." || de.Hint == "" {
				t.Errorf("got %v", err)
			}
		}},
		{"403 html", 403, "text/html", `<html>denied</html>`, func(t *testing.T, err error) {
			if !errors.Is(err, commands.ErrUnauthorized) {
				t.Errorf("got %v", err)
			}
		}},
		{"502 proxy page", 502, "text/html", `<html>bad gateway</html>`, func(t *testing.T, err error) {
			var ue *httpapi.UnexpectedError
			if !errors.As(err, &ue) || ue.Status != 502 || strings.Contains(err.Error(), "bad gateway") {
				t.Errorf("got %v", err)
			}
		}},
		{"200 with garbage", 200, "application/json", `not json`, func(t *testing.T, err error) {
			var ue *httpapi.UnexpectedError
			if !errors.As(err, &ue) {
				t.Errorf("got %v", err)
			}
		}},
		{"200 with only detail", 200, "application/json", `{"detail":"VIN not found or unauthorized access."}`, func(t *testing.T, err error) {
			if !errors.Is(err, commands.ErrVINNotFound) {
				t.Errorf("got %v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r request) {
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			})
			_, err := newClient(srv.URL).Send(context.Background(), "6AHFT68CKAF501652", "enable_ignition", testCode)
			if err == nil {
				t.Fatal("no error")
			}
			c.check(t, err)
			checkNoSecrets(t, err)
		})
	}
}

func TestStatusDetailStringAndError(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		switch r.Path {
		case "/vehicle-command/e-1":
			writeJSON(w, 200, `{"id":"e-1","vin":"V","command":"lock_door","status":"error","detail":"Vehicle did not answer\u202e","updated":"2023-02-14T09:51:48-03:00","created":"garbage"}`)
		case "/vehicle-command/a%2Fb":
			writeJSON(w, 200, `{"id":"a/b","status":"Pending"}`)
		default:
			writeJSON(w, 404, `{"detail":"Command not found or unauthorized access."}`)
		}
	})
	c := newClient(srv.URL)
	cmd, err := c.Status(context.Background(), "e-1")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Status != commands.StatusError || !cmd.Terminal() {
		t.Errorf("status %q: lower-case error should map to Error", cmd.Status)
	}
	if got := cmd.DetailText(); got != "Vehicle did not answer" {
		t.Errorf("DetailText %q", got)
	}
	if !cmd.Updated.Equal(time.Date(2023, 2, 14, 12, 51, 48, 0, time.UTC)) || !cmd.Created.IsZero() {
		t.Errorf("times %v %v", cmd.Updated, cmd.Created)
	}
	if _, err := c.Status(context.Background(), "a/b"); err != nil {
		t.Errorf("id with a slash is not escaped: %v", err)
	}
	_, err = c.Status(context.Background(), "missing")
	if !errors.Is(err, commands.ErrCommandNotFound) {
		t.Errorf("err %v", err)
	}
}

func TestParseTimesUTCMinus3(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		writeJSON(w, 200, `{"id":"x","status":"Pending","created":"2023-12-31 22:30:00","updated":"2024-01-01 02:59:59.5"}`)
	})
	cmd, err := newClient(srv.URL).Status(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 1, 1, 1, 30, 0, 0, time.UTC); !cmd.Created.Equal(want) {
		t.Errorf("Created %v, want %v", cmd.Created, want)
	}
	if want := time.Date(2024, 1, 1, 5, 59, 59, 5e8, time.UTC); !cmd.Updated.Equal(want) {
		t.Errorf("Updated %v, want %v", cmd.Updated, want)
	}
	if cmd.Created.Location() != time.Local {
		t.Errorf("times should be in the local zone for display, got %v", cmd.Created.Location())
	}
}

func TestFollowRetriesTransientFailures(t *testing.T) {
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		switch n.Add(1) {
		case 1:
			writeJSON(w, 200, `{"id":"x","status":"Pending"}`)
		case 2:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
		case 3:
			writeJSON(w, 502, `{"detail":"upstream hiccup"}`)
		default:
			writeJSON(w, 200, `{"id":"x","status":"Success","detail":{"doors":{"locks_state":"locked"}}}`)
		}
	})
	sl := &instant{}
	cmd, err := newClient(srv.URL, commands.WithSleep(sl.sleep), commands.WithPolling(time.Second, 3*time.Second)).Follow(context.Background(), "x", nil)
	if err != nil || cmd.Status != commands.StatusSuccess {
		t.Fatalf("cmd %+v err %v", cmd, err)
	}
	for i, w := range sl.waits {
		if w < 800*time.Millisecond || w > 3600*time.Millisecond {
			t.Errorf("wait %d = %v outside the 1s..3s (±20%%) range", i, w)
		}
	}
}

func TestFollowGivesUpOnPersistentFailure(t *testing.T) {
	var n atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		n.Add(1)
		w.WriteHeader(500)
	})
	sl := &instant{}
	_, err := newClient(srv.URL, commands.WithSleep(sl.sleep)).Follow(context.Background(), "x", nil)
	var ue *httpapi.UnexpectedError
	if !errors.As(err, &ue) {
		t.Fatalf("err %v", err)
	}
	if got := n.Load(); got < 2 || got > 10 {
		t.Errorf("%d attempts, want a small bounded number", got)
	}

	// A documented, non-transient error stops at once.
	n.Store(0)
	srv2 := newServer(t, func(w http.ResponseWriter, r request) {
		n.Add(1)
		writeJSON(w, 404, `{"detail":"Command not found or unauthorized access."}`)
	})
	_, err = newClient(srv2.URL, commands.WithSleep(sl.sleep)).Follow(context.Background(), "x", nil)
	if !errors.Is(err, commands.ErrCommandNotFound) || n.Load() != 1 {
		t.Errorf("err %v after %d requests", err, n.Load())
	}
}

func TestFollowStopsWhenContextEnds(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		writeJSON(w, 200, `{"id":"x","status":"Pending"}`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	cmd, err := newClient(srv.URL, commands.WithPolling(10*time.Millisecond, 20*time.Millisecond)).Follow(ctx, "x", nil)
	if !errors.Is(err, context.DeadlineExceeded) || cmd.Status != commands.StatusPending {
		t.Errorf("cmd %+v err %v", cmd, err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("Follow did not stop promptly")
	}
}

func TestNothingPrintsSecrets(t *testing.T) {
	conf := commands.Confirmation{VIN: "V", Command: "enable_ignition", Code: testCode, Message: "Confirme"}
	res := commands.SendResult{Confirmation: &conf}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "conf", conf, "res", res)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "conf", conf)
	outs := []string{
		fmt.Sprint(conf), fmt.Sprintf("%+v", conf), fmt.Sprintf("%#v", conf), fmt.Sprintf("%v", &conf),
		fmt.Sprintf("%+v", res), logBuf.String(),
	}
	c := newClient("http://127.0.0.1:1")
	outs = append(outs, fmt.Sprint(c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c))
	for i, o := range outs {
		if strings.Contains(o, testCode) || strings.Contains(o, testToken) || strings.Contains(o, testSecret) {
			t.Errorf("output %d shows a secret", i)
		}
	}
	if !strings.Contains(fmt.Sprint(conf), "Confirme") {
		t.Error("String() lost the message")
	}
}

// checkNoSecrets fails when err's text holds the token, sign secret or code.
func checkNoSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error()
	if strings.Contains(s, testToken) || strings.Contains(s, testSecret) || strings.Contains(s, testCode) {
		t.Error("error text holds a secret")
	}
}

func TestValidCode(t *testing.T) {
	for _, code := range []string{"000000", "123456", "987654"} {
		if !commands.ValidCode(code) {
			t.Errorf("ValidCode(%q) = false", code)
		}
	}
	for _, code := range []string{"", "12345", "1234567", "12a456", "１２３４５６", " 123456", "12 456", "-12345"} {
		if commands.ValidCode(code) {
			t.Errorf("ValidCode(%q) = true", code)
		}
	}
}

func TestErrorsBlankEchoedTokenAndCode(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		writeJSON(w, 400, `{"detail":"token `+testToken+` may not use code `+testCode+`"}`)
	})
	c := newClient(srv.URL)
	_, sendErr := c.Send(context.Background(), "6AHFT68CKAF501652", "enable_ignition", testCode)
	_, statusErr := c.Status(context.Background(), "cmd-1")
	if sendErr != nil && strings.Contains(sendErr.Error(), testCode) {
		t.Errorf("Send's error shows the code the server echoed: %v", sendErr)
	}
	for _, err := range []error{sendErr, statusErr} {
		if err == nil {
			t.Fatal("a 400 was accepted")
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("error shows the token the server echoed: %v", err)
		}
		if !strings.Contains(err.Error(), httpapi.Redacted) {
			t.Errorf("error lost the redaction marker: %v", err)
		}
	}
}

// mobway's detail is {} while a command is Pending (and when a command has
// nothing to add): nothing to show. Vehicle data is shown compact.
func TestDetailTextEmptyObject(t *testing.T) {
	for detail, want := range map[string]string{
		`{}`:                                  "",
		` { } `:                               "",
		`null`:                                "",
		``:                                    "",
		`{"date_time":"2023-02-14 09:52:48"}`: `{"date_time":"2023-02-14 09:52:48"}`,
		`{"latitude": 34.0567236, "longitude": -118.245137, "date_time": "x"}`: `{"latitude":34.0567236,"longitude":-118.245137,"date_time":"x"}`,
		`"Failed to send command to the OEM."`:                                 "Failed to send command to the OEM.",
	} {
		c := commands.Command{Detail: json.RawMessage(detail)}
		if got := c.DetailText(); got != want {
			t.Errorf("DetailText(%s) = %q, want %q", detail, got, want)
		}
	}
}
