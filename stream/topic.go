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

// multiValued reports the Auto API (level 13) properties that hold a list of
// items even in V1, where every other property is a single object. V2 sends
// every property as a list; one of a single item is shown as a plain value
// unless it is one of these, so that diagnostics.speed keeps its sparkline
// while a trouble code list of one stays a list.
func multiValued(capability, property string) bool {
	switch capability {
	case "diagnostics":
		switch property {
		case "trouble_codes", "confirmed_trouble_codes", "tire_pressures", "tire_temperatures", "wheel_rpms",
			"tire_pressure_statuses", "tire_pressures_targets", "tire_pressures_differences",
			"oem_trouble_code_values", "check_control_messages", "diesel_exhaust_filter_statuses":
			return true
		}
	case "dashboard_lights":
		return property == "dashboard_lights" || property == "bulb_failures"
	case "doors":
		return property == "inside_locks" || property == "locks" || property == "positions"
	case "windows":
		return property == "open_percentages" || property == "positions"
	case "crash":
		return property == "incidents"
	case "lights":
		return property == "fog_lights" || property == "reading_lamps" || property == "interior_lights"
	case "seats":
		return property == "persons_detected" || property == "seatbelts_state"
	case "charging":
		return property == "departure_times" || property == "reduction_times" || property == "timers"
	case "maintenance":
		return property == "condition_based_services"
	case "climate":
		return property == "hvac_weekday_starting_times"
	case "usage":
		return property == "driving_modes_activation_periods" || property == "driving_modes_energy_consumptions"
	case "adas":
		return property == "lane_keep_assists_states" || property == "park_assists"
	case "race":
		return property == "accelerations" || property == "brake_torque_vectorings"
	case "vehicle_information":
		return property == "equipments"
	case "notifications":
		return property == "action_items"
	}
	return false
}
