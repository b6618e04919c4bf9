module guv.dev/guv

go 1.22
