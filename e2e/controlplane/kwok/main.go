// Command kwok is sigs.k8s.io/kwok's kwok (fake kubelets: nodes become Ready, scheduled pods Running) plus
// the harness watchdog. It is a module of its own because kwok v0.7.0 needs the Kubernetes 1.33 libraries
// and does not compile against the 1.34 ones that ../cmd/bmcp links.
//
// Watchdog: when BMCP_PARENT_PID is set, the process exits as soon as that process is gone, so a harness
// killed with SIGKILL leaves no orphans behind (see ../cmd/bmcp/main.go, which does the same).
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func main() {
	startWatchdog()

	// The rest mirrors sigs.k8s.io/kwok/cmd/kwok.
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsWhitelist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := signals.SetupSignalContext()
	ctx, logger := log.InitFlags(ctx, flagset)

	ctx, err := config.InitFlags(ctx, flagset)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(flagset.FlagUsages()))
		logger.Error("Init config flags", err)
		os.Exit(1)
	}

	command := cmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", err)
		os.Exit(1)
	}
}

func startWatchdog() {
	raw := os.Getenv("BMCP_PARENT_PID")
	if raw == "" {
		return
	}
	parent, err := strconv.Atoi(raw)
	if err != nil || parent <= 1 {
		fmt.Fprintf(os.Stderr, "kwok: ignoring invalid BMCP_PARENT_PID %q\n", raw)
		return
	}
	_ = os.Unsetenv("BMCP_PARENT_PID")
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	gone := func() bool {
		return os.Getppid() != parent || syscall.Kill(parent, 0) == syscall.ESRCH
	}
	if gone() {
		os.Exit(1)
	}
	go func() {
		for range time.Tick(500 * time.Millisecond) {
			if gone() {
				fmt.Fprintf(os.Stderr, "kwok: parent process %d is gone, exiting\n", parent)
				os.Exit(1)
			}
		}
	}()
}
