package sandbox

import (
	"encoding/json"
	"testing"

	"sandbox/network"
)

// TestSpecNetworkJSON: the network's part of the Spec (network.Child,
// embedded) keeps the fields init reads at the Spec's top level, as before
// the network drivers.
func TestSpecNetworkJSON(t *testing.T) {
	s := Spec{Child: network.Child{Network: network.Slirp, Unreachable: []string{"192.0.2.1"}, WatchHostAddrs: true}}
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"network": `"slirp"`, "unreachable": `["192.0.2.1"]`, "watch_host_addrs": "true"} {
		if got := string(top[k]); got != want {
			t.Errorf("spec JSON %s = %s, want %s (in %s)", k, got, want, b)
		}
	}
	var back Spec
	if err := json.Unmarshal(b, &back); err != nil || back.Network != network.Slirp || !back.WatchHostAddrs || len(back.Unreachable) != 1 {
		t.Errorf("round trip = %+v, %v", back.Child, err)
	}
}
