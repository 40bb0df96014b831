package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
)

// runKubelet plays the kubelet of one fake Node, which is all a control-plane test needs from a node: the
// Node reports Ready (with a heartbeat), every pod scheduled to it becomes Running and Ready with an IP,
// and a pod being deleted is removed at once. No container runs. It replaces kwok, whose own copy of the
// Kubernetes libraries (another ~1,000 packages) doubled the first build; everything here is already
// linked into bmcp.
func runKubelet(args []string) int {
	fs := flag.NewFlagSet("kubelet", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server (required)")
	nodeName := fs.String("node-name", "fake-node-0", "the Node this kubelet answers for (created if missing)")
	heartbeat := fs.Duration("heartbeat", 10*time.Second, "how often the Node's Ready condition is renewed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "kubelet: --kubeconfig is required")
		return 2
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubelet: %v\n", err)
		return 1
	}
	config.QPS, config.Burst = 200, 400
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubelet: %v\n", err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	k := &fakeKubelet{client: client, node: *nodeName}
	go k.heartbeat(ctx, *heartbeat)
	k.runPods(ctx)
	return 0
}

type fakeKubelet struct {
	client kubernetes.Interface
	node   string
	nextIP atomic.Uint32
}

func (k *fakeKubelet) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s kubelet: %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// heartbeat keeps the Node's conditions fresh; the first beat also creates the Node if nobody did.
func (k *fakeKubelet) heartbeat(ctx context.Context, every time.Duration) {
	for {
		if err := k.beat(ctx); err != nil && ctx.Err() == nil {
			k.logf("Node %s heartbeat failed: %v", k.node, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (k *fakeKubelet) beat(ctx context.Context) error {
	nodes := k.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, k.node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.node}}, metav1.CreateOptions{})
	}
	if err != nil {
		return err
	}
	now := metav1.Now()
	condition := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	capacity := corev1.ResourceList{}
	for name, value := range map[corev1.ResourceName]string{"cpu": "64", "memory": "256Gi", "pods": "500", "ephemeral-storage": "1Ti"} {
		capacity[name] = resource.MustParse(value)
	}
	node.Status.Capacity, node.Status.Allocatable = capacity, capacity
	node.Status.Conditions = []corev1.NodeCondition{
		condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
		condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
		condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
		condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
		condition(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "RouteCreated"),
	}
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
		{Type: corev1.NodeHostName, Address: k.node},
	}
	node.Status.NodeInfo = corev1.NodeSystemInfo{
		Architecture: "amd64", OperatingSystem: "linux", KubeletVersion: "fake", KubeProxyVersion: "fake",
	}
	_, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// runPods watches the pods bound to this Node and drives each one to Running/Ready, or away when deleted.
func (k *fakeKubelet) runPods(ctx context.Context) {
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	factory := informers.NewSharedInformerFactoryWithOptions(k.client, 0, informers.WithTweakListOptions(
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.node).String()
		}))
	informer := factory.Core().V1().Pods().Informer()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	factory.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), informer.HasSynced)
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	for {
		key, shutdown := queue.Get()
		if shutdown {
			return
		}
		obj, exists, err := informer.GetIndexer().GetByKey(key)
		if err == nil && exists {
			err = k.syncPod(ctx, obj.(*corev1.Pod))
		}
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			k.logf("pod %s: %v", key, err)
			queue.AddRateLimited(key)
		} else if apierrors.IsConflict(err) {
			queue.AddRateLimited(key)
		} else {
			queue.Forget(key)
		}
		queue.Done(key)
	}
}

func (k *fakeKubelet) syncPod(ctx context.Context, pod *corev1.Pod) error {
	pods := k.client.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		zero := int64(0)
		return pods.Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero,
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
	}
	if pod.Status.Phase == corev1.PodRunning && podReady(pod) {
		return nil
	}
	now := metav1.Now()
	running := pod.DeepCopy()
	ip := pod.Status.PodIP
	if ip == "" {
		n := k.nextIP.Add(1)
		ip = fmt.Sprintf("10.244.%d.%d", (n/250)%250, n%250+1)
	}
	running.Status.Phase = corev1.PodRunning
	running.Status.HostIP, running.Status.PodIP = "127.0.0.1", ip
	running.Status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	running.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	if running.Status.StartTime == nil {
		running.Status.StartTime = &now
	}
	running.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{
		corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady,
	} {
		running.Status.Conditions = append(running.Status.Conditions,
			corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	running.Status.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		running.Status.InitContainerStatuses = append(running.Status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason: "Completed", StartedAt: now, FinishedAt: now,
			}},
		})
	}
	started := true
	running.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		running.Status.ContainerStatuses = append(running.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: &started,
			ContainerID: "fake://" + string(pod.UID) + "/" + c.Name,
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, err := pods.UpdateStatus(ctx, running, metav1.UpdateOptions{})
	return err
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
