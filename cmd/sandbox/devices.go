package main

import (
	"github.com/spf13/cobra"
)

// addDeviceFlags adds --device (run, shell, profile show).
func (o *profileOptions) addDeviceFlags(cmd *cobra.Command) {
	repeatedVar(cmd.Flags(), &o.overrides.Devices, "device", "",
		"make a host device node (`PATH` under /dev, e.g. /dev/kvm) or a CDI device (vendor.example.com/class=name) visible inside (repeatable)")
}
