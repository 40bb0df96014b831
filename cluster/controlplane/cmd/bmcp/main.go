// Command bmcp is the multi-call binary of Beast Mode's local control plane for end-to-end tests:
//
//	bmcp etcd --data-dir DIR --client-url URL --peer-url URL
//	bmcp apiserver <kube-apiserver flags>
//	bmcp controller-manager <kube-controller-manager flags>
//	bmcp scheduler <kube-scheduler flags>
//	bmcp kubelet --kubeconfig FILE --node-name NAME   (a fake kubelet: the Node is Ready, its pods Running)
//	bmcp version
//
// One binary links the shared Kubernetes libraries once, which is what makes the cold build tolerable.
//
// Watchdog: when BMCP_PARENT_PID is set, the process exits as soon as that process is gone (its parent
// changes, or the pid no longer exists), so a test harness killed with SIGKILL leaves no orphans behind.
// It also asks the kernel for SIGKILL on parent death (PR_SET_PDEATHSIG) as a first line of defence.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go prometheus plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric registration
	"k8s.io/component-base/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"

	_ "time/tzdata" // CronJob time zones
)

const usage = "usage: bmcp etcd|apiserver|controller-manager|scheduler|kubelet|version [flags]"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	startWatchdog()
	sub := os.Args[1]
	// Components parse os.Args themselves: hide the subcommand.
	os.Args = append([]string{"bmcp-" + sub}, os.Args[2:]...)
	switch sub {
	case "etcd":
		os.Exit(runEtcd(os.Args[1:]))
	case "apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "controller-manager":
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "kubelet":
		os.Exit(runKubelet(os.Args[1:]))
	case "version":
		fmt.Println(version.Get().GitVersion)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func startWatchdog() {
	raw := os.Getenv("BMCP_PARENT_PID")
	if raw == "" {
		return
	}
	parent, err := strconv.Atoi(raw)
	if err != nil || parent <= 1 {
		fmt.Fprintf(os.Stderr, "bmcp: ignoring invalid BMCP_PARENT_PID %q\n", raw)
		return
	}
	_ = os.Unsetenv("BMCP_PARENT_PID")
	// Best effort: the kernel signal fires when the parent thread exits.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	gone := func() bool {
		if os.Getppid() != parent {
			return true
		}
		return syscall.Kill(parent, 0) == syscall.ESRCH
	}
	if gone() {
		os.Exit(1)
	}
	go func() {
		for range time.Tick(500 * time.Millisecond) {
			if gone() {
				fmt.Fprintf(os.Stderr, "bmcp: parent process %d is gone, exiting\n", parent)
				os.Exit(1)
			}
		}
	}()
}
