package guv

// StartVia is Start with the hub's serving goroutine started by launch
// rather than by a go statement, so that a test can choose its thread.
func StartVia(launch func(serve func())) (*Hub, error) {
	return start(launch)
}
