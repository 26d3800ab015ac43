package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"sandbox/profiles"
)

// addDeviceFlags adds --device (run, shell, profile show).
func (o *profileOptions) addDeviceFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&o.overrides.Devices, "device", nil,
		"make a host device node (`PATH` under /dev, e.g. /dev/kvm) or a CDI device (vendor.example.com/class=name) visible inside (repeatable)")
}

// printGrants writes the start line naming the devices and sockets the
// run opens to the sandbox; nothing when there are none.
func printGrants(w io.Writer, p *profiles.Profile) {
	if g := p.DeviceGrants(); len(g) > 0 {
		fmt.Fprintf(w, "sandbox: grants: %s\n", strings.Join(g, ", "))
	}
}
