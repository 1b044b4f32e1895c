package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/vin"
)

func TestRetriesOnceAfter401(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer hm-token-1-") {
			writeJSON(w, 401, `{"errors":[{"title":"Not authorized","source":"Authorization","detail":"token revoked"}]}`)
			return
		}
		writeJSON(w, 200, `[]`)
	}
	if _, err := f.client().List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if a, c := f.authCalls.Load(), f.apiCalls.Load(); a != 2 || c != 2 {
		t.Errorf("auth calls %d, api calls %d; want one refresh and one retry", a, c)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.jtis) != 2 {
		t.Errorf("%d distinct jti for 2 assertions", len(f.jtis))
	}
}

func TestSecond401IsAnError(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		// Echo the bearer token: it must not reach our error text.
		writeJSON(w, 401, fmt.Sprintf(`{"errors":[{"title":"Not authorized","detail":"refused %s"}]}`,
			strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
	}
	_, err := f.client().List(context.Background(), nil)
	if !IsUnauthorized(err) {
		t.Fatalf("err = %v, want a 401", err)
	}
	if a, c := f.authCalls.Load(), f.apiCalls.Load(); a != 2 || c != 2 {
		t.Errorf("auth calls %d, api calls %d; want 2 and 2 (no loop)", a, c)
	}
	if !strings.Contains(err.Error(), "list vehicles: HTTP 401: Not authorized: refused "+httpapi.Redacted) {
		t.Errorf("err = %q", err)
	}
	noSecrets(t, err, f.secrets()...)
}

func Test429RetryAfter(t *testing.T) {
	f := newFakeHM(t)
	var n atomic.Int32
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"errors":[{"title":"Too many requests"}]}`)
			return
		}
		writeJSON(w, 200, `[]`)
	}
	start := time.Now()
	if _, err := f.client(WithBackoff(10*time.Second)).List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 950*time.Millisecond || d > 5*time.Second {
		t.Errorf("took %v, want about the 1 s Retry-After asked for", d)
	}
	if c := f.apiCalls.Load(); c != 2 {
		t.Errorf("api calls %d, want 2", c)
	}
}

func Test429DelayFromDetail(t *testing.T) {
	f := newFakeHM(t)
	var n atomic.Int32
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		if n.Add(1) == 1 {
			writeJSON(w, 429, `{"errors":[{"title":"Rate limited","detail":"Limit of 60 calls a minute reached, retry in 1 second"}]}`)
			return
		}
		writeJSON(w, 200, `[]`)
	}
	start := time.Now()
	if _, err := f.client(WithBackoff(10*time.Second)).List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 950*time.Millisecond || d > 5*time.Second {
		t.Errorf("took %v, want the 1 s the detail named (not the 10 s backoff)", d)
	}
}

func TestDelayIn(t *testing.T) {
	for detail, want := range map[string]time.Duration{
		"retry in 12 seconds":       12 * time.Second,
		"Try again after 3s":        3 * time.Second,
		"wait 7 sec":                7 * time.Second,
		"60 calls a minute":         0,
		"slow down":                 0,
		"retry in 0 seconds please": 0,
	} {
		if got := delayIn(&APIError{Status: 429, Errors: []ErrorItem{{Detail: detail}}}); got != want {
			t.Errorf("delayIn(%q) = %v, want %v", detail, got, want)
		}
	}
}

func Test429GivesUp(t *testing.T) {
	t.Run("attempts", func(t *testing.T) {
		f := newFakeHM(t)
		f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
			writeJSON(w, 429, `{"errors":[{"title":"Too many requests"}]}`)
		}
		_, err := f.client(WithMaxAttempts(3)).List(context.Background(), nil)
		if !IsRateLimited(err) {
			t.Fatalf("err = %v", err)
		}
		if c := f.apiCalls.Load(); c != 3 {
			t.Errorf("api calls %d, want 3", c)
		}
	})
	t.Run("too long a wait", func(t *testing.T) {
		f := newFakeHM(t)
		f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("Retry-After", "3600")
			writeJSON(w, 429, `{"errors":[{"title":"Too many requests"}]}`)
		}
		start := time.Now()
		_, err := f.client().List(context.Background(), nil)
		if !IsRateLimited(err) || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
		if c := f.apiCalls.Load(); c != 1 {
			t.Errorf("api calls %d, want 1", c)
		}
	})
	t.Run("context", func(t *testing.T) {
		f := newFakeHM(t)
		f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("Retry-After", "30")
			writeJSON(w, 429, `{}`)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := f.client().List(ctx, nil)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
	})
}

func TestAPIErrorIsSanitized(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, 403, `{"errors":[{"title":"Forbidden","source":"Authorization","detail":"This service account is not associated with a fleet.\u001b]0;pwned\u0007\u001b[31m\u202e"}]}`)
	}
	_, err := f.client().List(context.Background(), nil)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if ae.Status != 403 || len(ae.Errors) != 1 || ae.Errors[0].Title != "Forbidden" || ae.Errors[0].Source != "Authorization" {
		t.Errorf("APIError = %+v", ae)
	}
	if want := "This service account is not associated with a fleet."; ae.Errors[0].Detail != want || ae.Detail() != want {
		t.Errorf("detail = %q, want %q", ae.Errors[0].Detail, want)
	}
	if want := "list vehicles: HTTP 403: Forbidden: This service account is not associated with a fleet. (Authorization)"; err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if IsConflict(err) || IsUnsupported(err) || !IsUnauthorized(err) {
		t.Error("status helpers disagree with 403")
	}
}

func TestHTMLErrorPage(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(502)
		io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
	}
	_, err := f.client().List(context.Background(), nil)
	var ue *httpapi.UnexpectedError
	if !errors.As(err, &ue) || ue.Status != 502 {
		t.Fatalf("err = %v, want *httpapi.UnexpectedError", err)
	}
	if !strings.Contains(err.Error(), "unexpected response (HTTP 502, text/html)") {
		t.Errorf("err = %q", err)
	}
	if strings.Contains(err.Error(), "<") || strings.Contains(err.Error(), "nginx") {
		t.Errorf("the HTML reached the error: %q", err)
	}
}

func TestTimeouts(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}
	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		c := f.client()
		start := time.Now()
		_, err := c.List(ctx, nil)
		if !errors.Is(err, httpapi.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
		noSecrets(t, err, f.secrets()...)
	})
	t.Run("client timeout", func(t *testing.T) {
		hc := httpapi.New(httpapi.Options{Timeout: 300 * time.Millisecond})
		c := New(f.srv.URL, NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, hc), hc)
		_, err := c.List(context.Background(), nil)
		if !errors.Is(err, httpapi.ErrTimeout) {
			t.Fatalf("err = %v, want httpapi.ErrTimeout", err)
		}
	})
}

func TestList(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method != http.MethodGet || r.URL.Path != "/fleets/vehicles" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		if len(body) != 0 || r.Header.Get("Content-Type") != "" {
			t.Errorf("GET with a body or content type")
		}
		if r.URL.RawQuery == "" {
			writeJSON(w, 200, `[
			  {"vin":"1HMSJBPPO6X2VVVP5","brand":"sandbox","status":"pending","changelog":[{"status":"pending","timestamp":"2022-10-21T19:03:06"}]},
			  {"vin":"WBADT43452G296403","brand":"bmw","status":"suspended\u001b[2J","changelog":[
			     {"status":"approved","timestamp":"2022-03-22T10:36:51.5Z"},
			     {"status":"pending","timestamp":"2022-03-22T09:36:51"},
			     {"status":"suspended","timestamp":"garbage","reason":"owner\nrequest"}],
			   "tags":{"fleet":"north","\u001b[1mx":"y"}}]`)
			return
		}
		want := `{"brand":{"operator":"eq","value":"bmw"},"status":{"operator":"eq","value":"approved"},"vin":{"operator":"eq","value":"WBADT43452G296403"}}`
		if got := r.URL.Query().Get("filter"); got != want {
			t.Errorf("filter = %s\nwant     %s", got, want)
		}
		if strings.ContainsAny(r.URL.RawQuery, `{}"`) {
			t.Errorf("filter not URL-encoded: %s", r.URL.RawQuery)
		}
		writeJSON(w, 200, `[]`)
	}
	c := f.client()
	vs, err := c.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("%d vehicles", len(vs))
	}
	if v := vs[0]; v.VIN != "1HMSJBPPO6X2VVVP5" || v.Status != StatusPending || !v.Status.Known() ||
		!v.LastChange().Equal(time.Date(2022, 10, 21, 19, 3, 6, 0, time.UTC)) {
		t.Errorf("vehicle 0 = %+v", v)
	}
	v := vs[1]
	if v.Status != "suspended" || v.Status.Known() || v.Status.Terminal() {
		t.Errorf("unknown status = %q (Known %v), want it kept verbatim and sanitized", v.Status, v.Status.Known())
	}
	if len(v.Changelog) != 3 || v.Changelog[1].Status != StatusPending || v.Changelog[2].Status != StatusApproved {
		t.Errorf("changelog not oldest first: %+v", v.Changelog)
	}
	if !v.Changelog[0].Timestamp.IsZero() || v.Changelog[0].Reason != "owner request" {
		t.Errorf("unreadable entry = %+v", v.Changelog[0])
	}
	if want := time.Date(2022, 3, 22, 10, 36, 51, 5e8, time.UTC); !v.LastChange().Equal(want) {
		t.Errorf("LastChange = %v, want %v", v.LastChange(), want)
	}
	if v.Tags["fleet"] != "north" || v.Tags["x"] != "y" {
		t.Errorf("tags = %q", v.Tags)
	}
	if _, err := c.List(context.Background(), &Filter{VIN: " wbadt43452g296403", Status: StatusApproved, Brand: "BMW"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), &Filter{}); err != nil { // empty filter: no query
		t.Fatal(err)
	}
}

func TestGetEscapesPath(t *testing.T) {
	f := newFakeHM(t)
	var uris []string
	var mu sync.Mutex
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
		writeJSON(w, 200, `{"vin":"WBADT43452G296403","brand":"bmw","status":"approved","changelog":[]}`)
	}
	c := f.client()
	v, err := c.Get(context.Background(), "wbadt43452g296403 ")
	if err != nil || v.VIN != "WBADT43452G296403" || v.Status != StatusApproved {
		t.Fatalf("Get = %+v, %v", v, err)
	}
	if _, err := c.Get(context.Background(), "AB/CD?x"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/fleets/vehicles/WBADT43452G296403", "/fleets/vehicles/AB%2FCD%3FX"}; !slices.Equal(uris, want) {
		t.Errorf("request URIs %q, want %q", uris, want)
	}
	if _, err := c.Get(context.Background(), " "); !errors.Is(err, vin.ErrInvalid) {
		t.Errorf("empty VIN: %v", err)
	}
}

func TestGetNotFound(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, 404, `{"errors":[{"title":"Not found","source":"vin","detail":"Given resource not found"}]}`)
	}
	_, err := f.client().Get(context.Background(), "WBADT43452G296403")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 404 || !strings.HasPrefix(err.Error(), "get WBADT43452G296403: HTTP 404") {
		t.Fatalf("err = %v", err)
	}
}

func TestAdd(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method != http.MethodPost || r.URL.Path != "/fleets/vehicles" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		want := `{"vehicles":[` +
			`{"vin":"WDD2050041F123456","brand":"mercedes-benz","control_measures":{"odometer":{"value":55271,"unit":"kilometers"}}},` +
			`{"vin":"WBADT43452G296403","brand":"bmw","tags":{"fleet":"north"}},` +
			`{"vin":"VF3ABCDEF12345678","brand":"peugeot"}]}`
		if string(body) != want {
			t.Errorf("body\n%s\nwant\n%s", body, want)
		}
		// Out of order, one refused, one with a description to sanitize.
		writeJSON(w, 200, `{"vehicles":[
		  {"vin":"VF3ABCDEF12345678","status":"error","description":"The brand is\u001b[5m invalid"},
		  {"vin":"WDD2050041F123456","status":"pending"},
		  {"vin":"WBADT43452G296403","status":"approved"}]}`)
	}
	res, err := f.client().Add(context.Background(), []NewVehicle{
		{VIN: "wdd2050041f123456", Brand: "Mercedes-Benz", Odometer: &Odometer{Value: 55271, Unit: UnitKilometers}},
		{VIN: "WBADT43452G296403", Brand: "bmw", Tags: map[string]string{"fleet": "north"}},
		{VIN: "VF3ABCDEF12345678", Brand: "peugeot"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []AddResult{
		{VIN: "WDD2050041F123456", Status: StatusPending},
		{VIN: "WBADT43452G296403", Status: StatusApproved},
		{VIN: "VF3ABCDEF12345678", Status: StatusError, Description: "The brand is invalid"},
	}
	if !slices.Equal(res, want) {
		t.Errorf("results\n%+v\nwant\n%+v", res, want)
	}
}

func TestAddRefusedLocally(t *testing.T) {
	f := newFakeHM(t)
	c := f.client()
	ctx := context.Background()
	for name, tc := range map[string]struct {
		v    NewVehicle
		is   error
		text string
	}{
		"mercedes without odometer": {NewVehicle{VIN: "WDD2050041F123456", Brand: "mercedes-benz"}, ErrNeedsOdometer, "WDD2050041F123456"},
		"short VIN":                 {NewVehicle{VIN: "WDD2050041F12345", Brand: "bmw"}, vin.ErrInvalid, "WDD2050041F12345"},
		"VIN with O":                {NewVehicle{VIN: "WDD2050O41F123456", Brand: "bmw"}, vin.ErrInvalid, "WDD2050O41F123456"},
		"bad unit":                  {NewVehicle{VIN: "WDD2050041F123456", Brand: "mercedes-benz", Odometer: &Odometer{Value: 1, Unit: "km"}}, nil, `unit "km"`},
		"no unit":                   {NewVehicle{VIN: "WDD2050041F123456", Brand: "mercedes-benz", Odometer: &Odometer{Value: 1}}, nil, "unit"},
		"negative odometer":         {NewVehicle{VIN: "WDD2050041F123456", Brand: "mercedes-benz", Odometer: &Odometer{Value: -1, Unit: UnitMiles}}, nil, "negative"},
		"no brand":                  {NewVehicle{VIN: "WDD2050041F123456"}, nil, "brand is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			// A good vehicle first: nothing is sent when any one is refused.
			_, err := c.Add(ctx, []NewVehicle{{VIN: "WBADT43452G296403", Brand: "bmw"}, tc.v})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %q, want it to name %q", err, tc.text)
			}
		})
	}
	if _, err := c.Add(ctx, nil); err == nil {
		t.Error("Add(nil): no error")
	}
	if a, n := f.authCalls.Load(), f.apiCalls.Load(); a != 0 || n != 0 {
		t.Errorf("%d auth and %d API requests sent for refused vehicles", a, n)
	}
}

func TestAddAcceptsCheckDigitMismatchAndSandboxVINs(t *testing.T) {
	const mismatch = "WBADT43412G296403" // position 9 is not the check digit (0)
	if r, err := vin.Check(mismatch); err != nil || r.CheckDigitOK {
		t.Fatalf("test VIN: %+v %v", r, err)
	}
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req struct {
			Vehicles []struct{ VIN string } `json:"vehicles"`
		}
		json.Unmarshal(body, &req)
		var rows []string
		for _, v := range req.Vehicles {
			rows = append(rows, fmt.Sprintf(`{"vin":%q,"status":"pending"}`, v.VIN))
		}
		writeJSON(w, 200, `{"vehicles":[`+strings.Join(rows, ",")+`]}`)
	}
	c := f.client()
	res, err := c.Add(context.Background(), []NewVehicle{
		{VIN: mismatch, Brand: "bmw"},
		{VIN: "1HMSJBPPO6X2VVVP5", Brand: "sandbox"}, // HM's sandbox VINs may hold an O
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Status != StatusPending || res[1].Status != StatusPending {
		t.Errorf("results %+v", res)
	}
	if _, err := c.Add(context.Background(), []NewVehicle{{VIN: "1HMSJBPPO6X2VVVP5", Brand: "bmw"}}); !errors.Is(err, vin.ErrInvalid) {
		t.Errorf("an O in a bmw VIN: err = %v", err)
	}
}

func TestAddMissingRow(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, 200, `{"vehicles":[]}`)
	}
	res, err := f.client().Add(context.Background(), []NewVehicle{{VIN: "WBADT43452G296403", Brand: "bmw"}})
	if err != nil || len(res) != 1 || res[0].Status != StatusError || res[0].Description == "" {
		t.Fatalf("res %+v, err %v", res, err)
	}
}

func TestAddBatched(t *testing.T) {
	f := newFakeHM(t)
	var chunks atomic.Int32
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		n := chunks.Add(1)
		var req struct {
			Vehicles []struct{ VIN string } `json:"vehicles"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Error(err)
		}
		if len(req.Vehicles) > 50 {
			t.Errorf("chunk of %d", len(req.Vehicles))
		}
		if n == 2 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			io.WriteString(w, "<h1>oops</h1>")
			return
		}
		var rows []string
		for i := len(req.Vehicles) - 1; i >= 0; i-- { // reversed: results must follow the input anyway
			rows = append(rows, fmt.Sprintf(`{"vin":%q,"status":"pending"}`, req.Vehicles[i].VIN))
		}
		writeJSON(w, 200, `{"vehicles":[`+strings.Join(rows, ",")+`]}`)
	}
	var vs []NewVehicle
	for i := range 121 {
		vs = append(vs, NewVehicle{VIN: fmt.Sprintf("WBADT4345%08d", i), Brand: "bmw"})
	}
	vs[7] = NewVehicle{VIN: "TOO-SHORT", Brand: "bmw"}
	vs[8] = NewVehicle{VIN: "WDD2050041F123456", Brand: "mercedes-benz"}
	var progress [][2]int
	res, err := f.client().AddBatched(context.Background(), vs, 50, func(done, total int) {
		progress = append(progress, [2]int{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(vs) {
		t.Fatalf("%d results for %d vehicles", len(res), len(vs))
	}
	if c := chunks.Load(); c != 3 { // 119 valid rows: 50 + 50 + 19
		t.Errorf("%d chunks, want 3", c)
	}
	// Input positions of the second chunk: valid rows 50..99 are inputs 52..101.
	for i, r := range res {
		switch {
		case i == 7:
			if r.Status != StatusError || !strings.Contains(r.Description, "invalid VIN") {
				t.Errorf("row 7 = %+v", r)
			}
		case i == 8:
			if r.Status != StatusError || !strings.Contains(r.Description, "odometer") {
				t.Errorf("row 8 = %+v", r)
			}
		case i >= 52 && i <= 101:
			if r.Status != StatusError || !strings.Contains(r.Description, "unexpected response (HTTP 500, text/html)") || strings.Contains(r.Description, "oops") {
				t.Errorf("row %d = %+v", i, r)
			}
		default:
			if r.Status != StatusPending || r.VIN != vs[i].VIN {
				t.Errorf("row %d = %+v, want %s pending", i, r, vs[i].VIN)
			}
		}
	}
	want := [][2]int{{52, 121}, {102, 121}, {121, 121}}
	if !slices.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
}

func TestAddBatchedStopsWithContext(t *testing.T) {
	f := newFakeHM(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		cancel() // the operator gives up during the first chunk
		writeJSON(w, 200, `{"vehicles":[]}`)
	}
	vs := make([]NewVehicle, 4)
	for i := range vs {
		vs[i] = NewVehicle{VIN: fmt.Sprintf("WBADT4345%08d", i), Brand: "bmw"}
	}
	res, err := f.client().AddBatched(ctx, vs, 2, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(res) != 4 || !strings.Contains(res[3].Description, "not sent") {
		t.Errorf("results %+v", res)
	}
	if n := f.apiCalls.Load(); n != 1 {
		t.Errorf("%d chunks sent after the context ended", n)
	}
}

func TestDelete(t *testing.T) {
	for _, tc := range []struct {
		status      int
		body        string
		ok          bool
		conflict    bool
		unsupported bool
	}{
		{200, `{"vin":"WBADT43452G296403","status":"revoking"}`, true, false, false},
		{202, `{}`, true, false, false},
		{204, ``, true, false, false},
		{409, `{"errors":[{"title":"Conflict","source":"vin","detail":"Clearance is already removed"}]}`, false, true, false},
		{409, `{"errors":[{"title":"Conflict","source":"vin","detail":"Clearance is in transition mode"}]}`, false, true, false},
		{422, `{"errors":[{"title":"not supported","source":"vin","detail":"cancellation is not supported for this vin"}]}`, false, false, true},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFakeHM(t)
			f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
				if r.Method != http.MethodDelete || r.URL.Path != "/fleets/vehicles/WBADT43452G296403" || len(body) != 0 {
					t.Errorf("%s %s (%d bytes)", r.Method, r.URL.Path, len(body))
				}
				if tc.body == "" {
					w.WriteHeader(tc.status)
					return
				}
				writeJSON(w, tc.status, tc.body)
			}
			err := f.client().Delete(context.Background(), "WBADT43452G296403")
			if (err == nil) != tc.ok || IsConflict(err) != tc.conflict || IsUnsupported(err) != tc.unsupported {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "revoke WBADT43452G296403: HTTP ") {
				t.Errorf("err = %q", err)
			}
		})
	}
}

func TestEligibility(t *testing.T) {
	f := newFakeHM(t)
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method != http.MethodPost || r.URL.Path != "/eligibility" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		if want := `{"vin":"WBADT43452G296403","brand":"bmw"}`; string(body) != want {
			t.Errorf("body %s, want %s", body, want)
		}
		writeJSON(w, 200, `{"vin":"WBADT43452G296403","eligible":true,"data_delivery":["pull","push"],"connectivity_status":"activated","primary_user_assigned":false}`)
	}
	c := f.client()
	e, err := c.Eligibility(context.Background(), "wbadt43452g296403", "BMW")
	if err != nil {
		t.Fatal(err)
	}
	if e.VIN != "WBADT43452G296403" || !e.Eligible || !slices.Equal(e.DataDelivery, []string{"pull", "push"}) ||
		e.ConnectivityStatus != "activated" || e.PrimaryUserAssigned == nil || *e.PrimaryUserAssigned {
		t.Errorf("eligibility = %+v", e)
	}
	if _, err := c.Eligibility(context.Background(), "nope", "bmw"); !errors.Is(err, vin.ErrInvalid) {
		t.Errorf("invalid VIN: %v", err)
	}
	if _, err := c.Eligibility(context.Background(), "WBADT43452G296403", ""); err == nil {
		t.Error("empty brand: no error")
	}
	if n := f.apiCalls.Load(); n != 1 {
		t.Errorf("%d API calls, want 1", n)
	}
}

func TestStatus(t *testing.T) {
	for s, want := range map[Status][2]bool{ // Known, Terminal
		StatusApproved: {true, true}, StatusPending: {true, false}, StatusRevoking: {true, false},
		StatusRevoked: {true, true}, StatusRejected: {true, true}, StatusCanceling: {true, false},
		StatusCanceled: {true, true}, StatusError: {true, true}, "suspended": {false, false}, "": {false, false},
	} {
		if s.Known() != want[0] || s.Terminal() != want[1] {
			t.Errorf("%q: Known %v Terminal %v, want %v", s, s.Known(), s.Terminal(), want)
		}
	}
}

func TestBrands(t *testing.T) {
	b := Brands()
	if !slices.IsSorted(b) {
		t.Error("brands not sorted (KnownBrand searches them)")
	}
	for _, want := range []string{BrandMercedesBenz, BrandSandbox, "bmw", "volvo-cars"} {
		if !KnownBrand(want) {
			t.Errorf("%s missing", want)
		}
	}
	if KnownBrand("trabant") {
		t.Error("trabant is known")
	}
	b[0] = "changed"
	if Brands()[0] == "changed" {
		t.Error("Brands returns the package's slice")
	}
}

func TestNewFromConfig(t *testing.T) {
	f := newFakeHM(t)
	path := f.keyFile("service-account.json", map[string]string{"inserted_at": "2020-06-22T09:38:09"})
	c, err := NewFromConfig(&config.Fleet{BaseURL: f.srv.URL, ServiceAccount: path, JWTVersion: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if f.authCalls.Load() != 1 {
		t.Errorf("auth calls %d", f.authCalls.Load())
	}

	if _, err := NewFromConfig(nil, nil); err == nil {
		t.Error("nil config: no error")
	}
	if _, err := NewFromConfig(&config.Fleet{BaseURL: f.srv.URL}, nil); err == nil {
		t.Error("no credentials: no error")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewFromConfig(&config.Fleet{BaseURL: f.srv.URL, ServiceAccount: path}, nil)
	if err == nil {
		t.Error("0644 service account accepted")
	}
	noSecrets(t, err, f.secrets()...)
}

// The token endpoint is rate limited too: a 429 there is waited out like
// one from the API.
func TestTokenEndpoint429(t *testing.T) {
	f := newFakeHM(t)
	f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
		if n == 1 {
			writeJSON(w, 429, `{"errors":[{"title":"Too many requests","detail":"retry in 1 second"}]}`)
			return true
		}
		return false
	}
	start := time.Now()
	if _, err := f.client(WithBackoff(10*time.Second)).List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 950*time.Millisecond || d > 5*time.Second {
		t.Errorf("took %v, want about 1 s", d)
	}
	if a, c := f.authCalls.Load(), f.apiCalls.Load(); a != 2 || c != 1 {
		t.Errorf("auth calls %d, api calls %d; want 2 and 1", a, c)
	}
}

func TestCheckVIN(t *testing.T) {
	for _, tc := range []struct {
		in, brand, want string
		ok              bool
	}{
		{" wbadt43452g296403 ", "bmw", "WBADT43452G296403", true},
		{"1HMSJBPPO6X2VVVP5", BrandSandbox, "1HMSJBPPO6X2VVVP5", true}, // an O: only the sandbox accepts it
		{"1HMSJBPPO6X2VVVP5", "bmw", "", false},
		{"1hmsjbppo6x2vvvp5", BrandSandbox, "1HMSJBPPO6X2VVVP5", true},
		{"SHORT", BrandSandbox, "", false},
	} {
		got, err := checkVIN(tc.in, tc.brand)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("checkVIN(%q, %q) = %q, %v; want %q, ok=%v", tc.in, tc.brand, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, vin.ErrInvalid) {
			t.Errorf("checkVIN(%q, %q): %v does not wrap vin.ErrInvalid", tc.in, tc.brand, err)
		}
	}
}
