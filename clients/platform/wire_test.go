package platform

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestApiKeyHeaderCasingOnTheWire reads the raw request bytes: a Go server
// would canonicalize the name before the test could see it.
func TestApiKeyHeaderCasingOnTheWire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	head := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			head <- ""
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		head <- b.String()
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]")
	}()

	c := New("http://"+ln.Addr().String()+"/v1", "k-123", HTTPClient(nil))
	if _, err := c.Fields(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := <-head
	if !strings.HasPrefix(h, "GET /v1/fields HTTP/1.1\r\n") {
		t.Errorf("request line: %q", strings.SplitN(h, "\r\n", 2)[0])
	}
	if !strings.Contains(h, "\r\nApiKey: k-123\r\n") {
		t.Errorf("no \"ApiKey: \" line with the document's casing in:\n%s", h)
	}
	if strings.Contains(h, "Apikey:") {
		t.Error("canonicalized Apikey sent as well")
	}
}
