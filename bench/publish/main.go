// Command publish floods an MQTT broker with telemetry in High Mobility's
// formats, for bench/telemetry.sh: MQTT V1 (document 001, one property a
// message, on live/level13/{app}/{vehicle}/{capability}/get/{property}) or,
// with -v2, MQTT V2 (one topic live/level13/{app}, 10 properties across 3
// capabilities a message, every property an array). It speaks just enough
// MQTT 3.1.1 over plain TCP (CONNECT, PUBLISH, PUBACK, DISCONNECT) to stay
// out of the way: every packet is built before the clock starts and written
// through one buffer, so the broker and the subscribers get the CPU.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "broker address")
	n := flag.Int("n", 200_000, "messages to publish")
	vehicles := flag.Int("vehicles", 10_000, "distinct vehicles")
	qos := flag.Int("qos", 1, "QoS of the publishes: 0 or 1")
	app := flag.String("app", "1FBBEDED80595912588FF4FF", "app id in the topic")
	window := flag.Int("window", 1000, "QoS 1: publishes in flight at most")
	v2 := flag.Bool("v2", false, "publish MQTT V2 messages (10 properties across 3 capabilities each)")
	flag.Parse()
	if err := run(*addr, *n, *vehicles, byte(*qos), *app, *window, *v2); err != nil {
		fmt.Fprintln(os.Stderr, "publish:", err)
		os.Exit(1)
	}
}

type property struct{ capability, property, data string }

// properties is a realistic mix of what a vehicle sends.
func properties() []property {
	return []property{
		{"diagnostics", "odometer", `{"unit":"kilometers","value":%d}`},
		{"diagnostics", "speed", `{"unit":"kilometers_per_hour","value":%d}`},
		{"diagnostics", "fuel_level", `0.%02d`},
		{"diagnostics", "engine_coolant_temperature", `{"unit":"celsius","value":%d}`},
		{"diagnostics", "engine_rpm", `{"unit":"revolutions_per_minute","value":%d}`},
		{"diagnostics", "battery_voltage", `{"unit":"volts","value":12.%d}`},
		{"charging", "battery_level", `0.%02d`},
		{"charging", "estimated_range", `{"unit":"kilometers","value":%d}`},
		{"climate", "outside_temperature", `{"unit":"celsius","value":%d}`},
		{"vehicle_location", "coordinates", `{"latitude":52.5%d,"longitude":13.4}`},
		{"doors", "locks_state", `"locked"`},
		{"ignition", "state", `"on"`},
	}
}

func run(addr string, n, vehicles int, qos byte, app string, window int, v2 bool) error {
	if qos > 1 {
		return errors.New("qos must be 0 or 1")
	}
	// Each of these at 0 would divide by zero or wait forever for a slot.
	if n < 1 || vehicles < 1 || window < 1 {
		return errors.New("n, vehicles and window must be at least 1")
	}
	props := properties()
	packets := make([][]byte, n)
	size := 0
	for i := range packets {
		v := i % vehicles
		vehicle := fmt.Sprintf("%040x", v*7919+1)
		var topic, payload string
		if v2 {
			topic, payload = "live/level13/"+app, v2Payload(i, vehicle, app)
		} else {
			p := props[(i/vehicles+v)%len(props)]
			topic = "live/level13/" + app + "/" + vehicle + "/" + p.capability + "/get/" + p.property
			payload = fmt.Sprintf(`{"message_id":"%064X","version":1,"vin":"%s","capability":"%s","property":"%s","data":{"%s":{"%s":{"data":%s,"timestamp":"2024-05-01T10:33:10.000Z"}}}}`,
				i+1, vehicle, p.capability, p.property, p.capability, p.property, fill(p.data, i))
		}
		size += len(payload)
		packets[i] = publishPacket(topic, []byte(payload), qos, uint16(i%65535+1))
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	w := bufio.NewWriterSize(conn, 256<<10)
	r := bufio.NewReaderSize(conn, 64<<10)
	if err := connect(w, r, fmt.Sprintf("bench-pub-%d", os.Getpid())); err != nil {
		return err
	}

	acked := make(chan error, 1)
	slots := make(chan struct{}, window)
	if qos == 1 {
		go func() { acked <- readAcks(r, n, slots) }()
	}
	start := time.Now()
	fmt.Println(start.UnixNano()) // the script's clock starts here
	for _, pk := range packets {
		if qos == 1 {
			slots <- struct{}{}
		}
		if _, err := w.Write(pk); err != nil {
			return err
		}
		if qos == 1 && len(slots) == cap(slots) {
			if err := w.Flush(); err != nil { // the window is full: let the acks come
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if qos == 1 {
		if err := <-acked; err != nil {
			return err
		}
	}
	took := time.Since(start)
	fmt.Fprintf(os.Stderr, "published %d messages (%d bytes of payload on average, qos %d) in %v: %.0f msg/s\n",
		n, size/n, qos, took.Round(time.Millisecond), float64(n)/took.Seconds())
	_, _ = w.Write([]byte{0xe0, 0})
	return w.Flush()
}

func fill(data string, i int) string {
	if strings.Contains(data, "%") {
		return fmt.Sprintf(data, i%100)
	}
	return data
}

// v2Properties are the 10 properties of a V2 message, across 3
// capabilities (diagnostics, vehicle_location, ignition), grouped by
// capability.
func v2Properties() []property {
	var out []property
	for _, p := range properties() {
		switch p.capability {
		case "diagnostics", "vehicle_location", "ignition":
			out = append(out, p)
		}
	}
	out = append(out,
		property{"vehicle_location", "heading", `{"unit":"degrees","value":%d}`},
		property{"vehicle_location", "altitude", `{"unit":"meters","value":%d}`})
	sort.SliceStable(out, func(i, j int) bool { return out[i].capability < out[j].capability })
	return out
}

// v2Payload is one V2 message: v2Properties, each a one-item array, grouped
// by capability.
func v2Payload(i int, vehicle, app string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"version":2,"application_id":%q,"message_id":"%064X","vin":%q,"data":{`, app, i+1, vehicle)
	last := ""
	for j, p := range v2Properties() {
		switch {
		case j == 0:
			fmt.Fprintf(&b, `%q:{`, p.capability)
		case p.capability != last:
			fmt.Fprintf(&b, `},%q:{`, p.capability)
		default:
			b.WriteByte(',')
		}
		last = p.capability
		fmt.Fprintf(&b, `%q:[{"data":%s,"timestamp":"2024-05-01T10:33:10.000Z"}]`, p.property, fill(p.data, i+j))
	}
	b.WriteString("}}}")
	return b.String()
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendLength(b []byte, n int) []byte {
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

func publishPacket(topic string, payload []byte, qos byte, id uint16) []byte {
	rest := 2 + len(topic) + len(payload)
	if qos > 0 {
		rest += 2
	}
	b := make([]byte, 0, rest+5)
	b = append(b, 0x30|qos<<1)
	b = appendLength(b, rest)
	b = appendString(b, topic)
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	return append(b, payload...)
}

func connect(w *bufio.Writer, r *bufio.Reader, clientID string) error {
	var body []byte
	body = appendString(body, "MQTT")
	body = append(body, 4, 0x02, 0, 60) // 3.1.1, clean session, keep alive 60 s
	body = appendString(body, clientID)
	pk := appendLength([]byte{0x10}, len(body))
	if _, err := w.Write(append(pk, body...)); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var ack [4]byte
	if _, err := io.ReadFull(r, ack[:]); err != nil {
		return fmt.Errorf("connack: %w", err)
	}
	if ack[0] != 0x20 || ack[3] != 0 {
		return fmt.Errorf("connection refused: % x", ack)
	}
	return nil
}

// readAcks reads n PUBACKs, freeing a window slot for each.
func readAcks(r *bufio.Reader, n int, slots chan struct{}) error {
	var pk [4]byte
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(r, pk[:]); err != nil {
			return fmt.Errorf("puback %d of %d: %w", i+1, n, err)
		}
		if pk[0] != 0x40 || pk[1] != 2 {
			return fmt.Errorf("unexpected packet % x (want PUBACK)", pk)
		}
		<-slots
	}
	return nil
}
