package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/slirp"
)

// Holder is a live run, as far as the ports it publishes go.
type Holder struct {
	PID      int
	ID, Name string
	Ports    []string // "HOSTIP:HOSTPORT->PORT/PROTO"
}

// nameHolder names the live run whose network helper holds a port that
// cannot be forwarded: the helper runs in that sandbox's user namespace,
// where its sockets cannot be inspected.
func nameHolder(err error, live func() []Holder) error {
	var pe *slirp.PortError
	if !errors.As(err, &pe) || !errors.Is(pe.Err, unix.EADDRINUSE) {
		return err
	}
	host := net.JoinHostPort(pe.Port.HostIP, strconv.Itoa(pe.Port.HostPort)) + "->"
	if live == nil {
		return err
	}
	for _, r := range live() {
		if r.PID == os.Getpid() {
			continue // our own record, with the same ports
		}
		for _, p := range r.Ports {
			if strings.HasPrefix(p, host) && strings.HasSuffix(p, "/"+pe.Port.Proto) {
				pe.Holder = fmt.Sprintf("the running sandbox %s", r.ID)
				if r.Name != "" {
					pe.Holder += " (" + r.Name + ")"
				}
				pe.Holder += fmt.Sprintf(", sandbox pid %d: sandbox stop %s", r.PID, r.ID)
			}
		}
	}
	return err
}
