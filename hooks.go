package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/api"
	"github.com/idbolt/idbolt/store"
)

// startHookDelivery runs the webhook deliverer (api.HookDeliverer) until
// the returned stop is called; stop waits for it to end. leader says
// whether this node delivers: in a cluster only the leader does.
func startHookDelivery(ctx context.Context, db *store.DB, logger *slog.Logger, reg prometheus.Registerer, leader func() bool) (stop func(), err error) {
	d, err := api.NewHookDeliverer(api.HookDeliveryConfig{Store: db, Logger: logger, Registry: reg, Leader: leader})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
}
