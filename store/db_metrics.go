package store

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/store/kv"
)

// RegisterMetrics registers gauges of the data file with reg: its size, the
// number of tenants, whether writes fail for lack of disk space, and how many
// write transactions did so, all read at scrape time.
func (db *DB) RegisterMetrics(reg prometheus.Registerer) error {
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idbolt_db_file_size_bytes",
		Help: "Size of the data file.",
	}, func() float64 {
		n, err := db.Size()
		if err != nil {
			return 0
		}
		return float64(n)
	})
	tenants := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idbolt_tenants",
		Help: "Number of tenants.",
	}, func() float64 {
		n := 0
		kv.View(db.bolt, func(tx *kv.Tx) error {
			c := tx.Bucket(bucketTenants).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				n++
			}
			return nil
		})
		return float64(n)
	})
	insufficient := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idbolt_storage_insufficient",
		Help: "1 while writes to the data file fail for lack of disk space (the last write did), else 0.",
	}, func() float64 {
		if db.StorageInsufficient() {
			return 1
		}
		return 0
	})
	failures := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "idbolt_storage_write_failures_total",
		Help: "Write transactions to the data file that failed for lack of disk space.",
	}, func() float64 { return float64(db.storage.failures.Load()) })
	for _, c := range []prometheus.Collector{size, tenants, insufficient, failures} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
