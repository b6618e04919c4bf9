# Python ecosystem (issue 8): guv.patcher.monkey_patch, the libraries it makes
# cooperative, the gunicorn worker and preload mode (python -m guv run),
# each tested against a real server on loopback. Tests in
# bindings/python/tests_ecosystem; one interpreter (the first of PYTHONS).
#
#   make test-python-eco   stdlib, requests, redis-py, pg8000, psycopg 3 (with and
#                          without its C speedups), PyMySQL, boto3 (moto_server),
#                          gunicorn GuvWorker, psycopg2 and mysqlclient under
#                          the preloaded libguv_hook (part of `make test`)
#   make python-eco-deps   pip install what the suite needs, when missing
#
# Servers it needs and does not start: PostgreSQL (GUV_TEST_PG), MariaDB
# (GUV_TEST_MYSQL), Redis (GUV_TEST_REDIS); its tests fail when one is down.
# Numbers measured are written to $(BUILD)/python-eco.txt.
#
# This fragment is read before mk/python.mk (names sort so): it uses that
# file's variables only in recipes, where they are set.

ECO_DIR     := $(ROOT)/bindings/python/tests_ecosystem
ECO_PIP     := pytest requests redis hiredis pg8000 mysqlclient gunicorn boto3 'moto[server]' psycopg2-binary cryptography \
	psycopg psycopg-binary PyMySQL
ECO_IMPORTS := pytest, requests, redis, hiredis, pg8000, MySQLdb, gunicorn, boto3, moto.server, flask_cors, psycopg2, cryptography, \
	psycopg, psycopg_binary, pymysql
ECO_TIMEOUT ?= 220
ECO_REPORT  := $(abspath $(BUILD))/python-eco.txt
GUV_TEST_MYSQL ?= host=127.0.0.1 port=3306 user=root db=test
GUV_TEST_REDIS ?= 127.0.0.1:6379
eco_py = $(firstword $(PYTHONS))

.PHONY: python-eco-deps test-python-eco

# mysqlclient builds against libmariadb-dev through pkg-config: deps-hook installs both.
python-eco-deps: deps-hook python-deps
	@py=$(eco_py); $$py -c 'import $(ECO_IMPORTS)' 2>/dev/null || \
	  $$py -m pip install -q --root-user-action=ignore $(ECO_PIP)

test-python-eco: python-install python-eco-deps $(HOOK_SO)
	@py=$(eco_py); v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  dest=$(PY_OUT)/$$v; \
	  echo "== test-python-eco: $$py"; rm -f $(ECO_REPORT); \
	  cd $$dest && env -u GUV_LIBRARY -u GUV_STACK_SIZE PYTHONPATH=$$dest \
	    GUV_HOOK_LIBRARY=$(abspath $(HOOK_SO)) GUV_ECO_REPORT=$(ECO_REPORT) \
	    GUV_TEST_PG="$(GUV_TEST_PG)" GUV_TEST_MYSQL="$(GUV_TEST_MYSQL)" GUV_TEST_REDIS="$(GUV_TEST_REDIS)" \
	    timeout $(ECO_TIMEOUT) $$py -m pytest -q -p no:cacheprovider $(ECO_DIR) && cat $(ECO_REPORT)

TEST_TARGETS += test-python-eco
