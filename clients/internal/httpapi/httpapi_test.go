package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDoSetsHeadersAndReadsBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/x" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if ua := r.Header.Get("User-Agent"); ua != UserAgent || !strings.HasPrefix(ua, "fleetdeck/") {
			t.Errorf("User-Agent = %q", ua)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer t0k" {
			t.Errorf("Authorization = %q", got)
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"a":1}` {
			t.Errorf("body = %s", b)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := New(Options{})
	resp, err := c.Do(context.Background(), Request{Method: "POST", URL: srv.URL + "/x",
		Header: http.Header{"Authorization": {"Bearer t0k"}}, Body: []byte(`{"a":1}`), ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != `{"ok":true}` || !resp.JSON() {
		t.Fatalf("resp = %d %s json=%v", resp.Status, resp.Body, resp.JSON())
	}
}

func TestUnexpectedHidesBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
	}))
	defer srv.Close()
	resp, err := New(Options{}).Do(context.Background(), Request{Method: "GET", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON() {
		t.Fatal("an HTML page reported as JSON")
	}
	msg := Unexpected(resp).Error()
	if msg != "unexpected response (HTTP 502, text/html)" {
		t.Fatalf("message = %q", msg)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	_, err := New(Options{Timeout: 50 * time.Millisecond}).Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/slow?token=secret"})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the query string: %v", err)
	}
}

func TestDebugLogRedactsSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"auth_token":"srv-token-123","valid_until":"2022-12-01T09:13:14"}`))
	}))
	defer srv.Close()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err := New(Options{Logger: log}).Do(context.Background(), Request{Method: "POST", URL: srv.URL,
		Header: http.Header{"Authorization": {"Bearer bearer-secret"}, "X-Signature": {"sig-secret"}, "ApiKey": {"key-secret"}},
		Body:   []byte(`{"assertion":"jwt-secret","vin":"WDD2130041A000001"}`), ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"bearer-secret", "sig-secret", "key-secret", "jwt-secret", "srv-token-123"} {
		if strings.Contains(out, s) {
			t.Errorf("debug log contains %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "WDD2130041A000001") || !strings.Contains(out, Redacted) {
		t.Errorf("debug log lost the non-secret data or the redaction marker:\n%s", out)
	}
}

func TestRedactJSONAndForm(t *testing.T) {
	got := string(RedactJSON([]byte(`{"email":"a@b.c","password":"pw","nested":[{"client_secret":"cs","idToken":"it"}]}`)))
	for _, s := range []string{`"pw"`, `"cs"`, `"it"`} {
		if strings.Contains(got, s) {
			t.Errorf("RedactJSON kept %s: %s", s, got)
		}
	}
	if !strings.Contains(got, "a@b.c") {
		t.Errorf("RedactJSON dropped a non-secret: %s", got)
	}
	form := string(RedactJSON([]byte("grant_type=client_credentials&client_id=abc&client_secret=s3")))
	if strings.Contains(form, "s3") || !strings.Contains(form, "client_id=abc") {
		t.Errorf("form redaction = %s", form)
	}
	if got := string(RedactJSON([]byte("<html>secret</html>"))); strings.Contains(got, "secret") {
		t.Errorf("non-JSON body kept: %s", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := RetryAfter(http.Header{"Retry-After": {"7"}}, now); d != 7*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := RetryAfter(http.Header{"Retry-After": {now.Add(3 * time.Second).Format(http.TimeFormat)}}, now); d != 3*time.Second {
		t.Errorf("date: %v", d)
	}
	if d := RetryAfter(http.Header{}, now); d != 0 {
		t.Errorf("none: %v", d)
	}
}

func TestSafeURL(t *testing.T) {
	if got := safeURL("https://user:pw@host.example/v1/x?key=1#f"); got != "https://host.example/v1/x" {
		t.Errorf("safeURL = %q", got)
	}
}

func TestJitterStaysWithinTwentyPercent(t *testing.T) {
	d := time.Second
	lo, hi := d*4/5, d*6/5
	for range 200 {
		if got := Jitter(d); got < lo || got > hi {
			t.Fatalf("Jitter(%v) = %v, want within [%v, %v]", d, got, lo, hi)
		}
	}
	if got := Jitter(0); got != 0 {
		t.Errorf("Jitter(0) = %v", got)
	}
	if got := Jitter(-time.Second); got != -time.Second {
		t.Errorf("Jitter(-1s) = %v", got)
	}
}

func TestScrub(t *testing.T) {
	jwt := "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
	got := Scrub("token tok-123 refused; assertion "+jwt+" invalid", "tok-123", "")
	for _, s := range []string{"tok-123", jwt, "eyJ"} {
		if strings.Contains(got, s) {
			t.Errorf("Scrub kept %q: %s", s, got)
		}
	}
	if !strings.Contains(got, "refused") || strings.Count(got, Redacted) != 2 {
		t.Errorf("Scrub = %q, want the text with two %s", got, Redacted)
	}
	if got := Scrub("nothing secret here"); got != "nothing secret here" {
		t.Errorf("Scrub changed plain text: %q", got)
	}
}

func TestTransportFailureLogKeepsQueryOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // nothing listens: the request fails without a response
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err := New(Options{Logger: log}).Do(context.Background(), Request{Method: "GET", URL: url + "/x?api_key=query-secret"})
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a *TransportError", err)
	}
	if strings.Contains(err.Error(), "query-secret") || strings.Contains(buf.String(), "query-secret") {
		t.Errorf("the query string reached the error or the log:\nerr: %v\nlog: %s", err, buf.String())
	}
	if !strings.Contains(buf.String(), "err=") {
		t.Errorf("the failure was not logged: %s", buf.String())
	}
}

// A server may echo what it was sent, in any field and in its headers: the
// debug log scrubs every secret the request carried, wherever it shows up.
func TestDebugLogScrubsEchoedSecrets(t *testing.T) {
	const (
		bearer    = "bearer-secret-7f3a"
		signature = "5d41402abc4b2a76b9719d911017c592"
		apiKey    = "key-secret-91c2"
		assertion = "assertion-secret-0b1d" // not shaped like a JWT: no pattern catches it
		code      = "482913"
		clientSec = "client/secret+value=="
		querySec  = "query-secret-44aa"
	)
	echo := strings.Join([]string{bearer, signature, apiKey, assertion, code, clientSec, querySec}, " ")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Debug", "saw "+echo)
		w.WriteHeader(http.StatusBadRequest)
		body, _ := json.Marshal(map[string]any{
			"message": "invalid request: " + echo,
			"echo":    map[string]any{"sig": signature, "list": []any{apiKey, map[string]any{"nested": assertion}}},
			code:      "a secret as a field name",
		})
		w.Write(body)
	}))
	defer srv.Close()

	for name, req := range map[string]Request{
		"json body": {Method: "POST", URL: srv.URL + "/x?api_key=" + querySec + "&page=2",
			Header: http.Header{"Authorization": {"Bearer " + bearer}, "X-Signature": {signature}, "ApiKey": {apiKey}},
			Body:   []byte(`{"assertion":"` + assertion + `","code":` + code + `,"client_secret":"` + clientSec + `","vin":"WDD2130041A000001"}`), ContentType: "application/json"},
		"form body": {Method: "POST", URL: srv.URL + "/x?api_key=" + querySec,
			Header: http.Header{"Authorization": {"Bearer " + bearer}, "X-Signature": {signature}, "ApiKey": {apiKey}},
			Body:   []byte("grant_type=client_credentials&client_assertion=" + assertion + "&code=" + code + "&client_secret=" + url.QueryEscape(clientSec) + "&vin=WDD2130041A000001"), ContentType: "application/x-www-form-urlencoded"},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if _, err := New(Options{Logger: log}).Do(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, s := range []string{bearer, signature, apiKey, assertion, code, clientSec, url.QueryEscape(clientSec), querySec} {
				if strings.Contains(out, s) {
					t.Errorf("debug log contains %q:\n%s", s, out)
				}
			}
			// What is not secret stays readable, headers included.
			for _, s := range []string{"invalid request", "X-Echo-Auth", "X-Debug", "a secret as a field name", "WDD2130041A000001", Redacted} {
				if !strings.Contains(out, s) {
					t.Errorf("debug log lost %q:\n%s", s, out)
				}
			}
		})
	}
}
