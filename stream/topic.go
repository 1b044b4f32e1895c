package stream

import "strings"

// topic is a telemetry topic split into its segments:
// [/]live|sandbox/level13/{app_id}/{vehicle}/{capability}/get/{property}.
// The fields are substrings of the topic (no copy).
type topic struct {
	env, appID, vehicle, capability, property string
}

// parseTopic matches on segments so that a leading slash (the seed has one,
// newer documents do not) makes no difference.
func parseTopic(t string) (topic, bool) {
	t = strings.TrimPrefix(t, "/")
	var seg [7]string
	for n := 0; n < 7; n++ {
		i := strings.IndexByte(t, '/')
		if n == 6 {
			if i >= 0 {
				return topic{}, false // more segments than the format has
			}
			seg[n] = t
			break
		}
		if i < 0 {
			return topic{}, false
		}
		seg[n], t = t[:i], t[i+1:]
	}
	if seg[0] != "live" && seg[0] != "sandbox" || seg[1] != "level13" || seg[5] != "get" {
		return topic{}, false
	}
	for _, s := range [...]string{seg[2], seg[3], seg[4], seg[6]} {
		if s == "" {
			return topic{}, false
		}
	}
	return topic{env: seg[0], appID: seg[2], vehicle: seg[3], capability: seg[4], property: seg[6]}, true
}

// canonicalName maps the deprecated names still seen on the wire to the ones
// the Auto API uses today, so one property does not show up twice.
func canonicalName(capability, property string) string {
	switch {
	case capability == "diagnostics" && property == "mileage":
		return "odometer"
	case capability == "ignition" && property == "status":
		return "state"
	}
	return property
}
