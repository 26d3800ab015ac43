package sandbox

import (
	"sandbox/network"
	"sandbox/runs"
)

// liveHolders lists the running sandboxes and the ports they publish, for
// the network to name the one holding a port it cannot forward.
func liveHolders() []network.Holder {
	live, _ := runs.List()
	hs := make([]network.Holder, 0, len(live))
	for _, r := range live {
		hs = append(hs, network.Holder{PID: r.PID, ID: r.ID, Name: r.Name, Ports: r.Ports})
	}
	return hs
}
