# The referral-bot image, built with no container registry: `bash .ci/container-image` makes what it needs,
#   - referral-bot-base:bookworm, Debian bookworm from debootstrap, loaded with `docker import`;
#   - dist/wheelhouse/: the project's wheel and every dependency at the versions of constraints.txt (and that
#     file), so the build installs offline and needs no package index inside Docker.
# Run: docker run -d --name referral-bot -v referral-bot-data:/data -e HTTP_HOST=0.0.0.0 -p 127.0.0.1:8081:8081 \
#          referral-bot run      (first: docker run --rm -v referral-bot-data:/data referral-bot init, then edit both)

FROM referral-bot-base:bookworm AS python
# On every stage, so .ci/container-image can remove the stages a rebuild leaves untagged, and only those.
LABEL org.opencontainers.image.title=referral-bot
# Debian's Python 3.11 (requires-python >=3.11); ca-certificates for TLS to Telegram, Slack and webhook receivers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

# The virtual environment is made in a stage of its own, so the wheels copied in never reach the final image.
FROM python AS venv
COPY dist/wheelhouse/ /wheels/
RUN python3 -m venv /opt/referral-bot \
 && /opt/referral-bot/bin/pip install --quiet --no-cache-dir --no-index --find-links /wheels \
        -c /wheels/constraints.txt referral-bot \
 && /opt/referral-bot/bin/pip check \
 && /opt/referral-bot/bin/pip uninstall --quiet --yes pip setuptools

FROM python
COPY --from=venv /opt/referral-bot /opt/referral-bot
ENV PATH=/opt/referral-bot/bin:$PATH \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1
# Not root: the bot writes only in its working folder. A fixed id, for a host folder mounted at /data.
RUN groupadd --system --gid 10001 referral-bot \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin referral-bot \
 && mkdir /data && chown referral-bot:referral-bot /data
USER referral-bot
# .env, program.toml and referrals.db (the defaults of PROGRAM_FILE and DATABASE_URL) live in the working folder,
# so one volume keeps the settings and the data across containers. `referral-bot init` writes the first two.
WORKDIR /data
VOLUME ["/data"]
# /healthz, /metrics and the CRM API (with CRM_API_TOKEN). The bot binds HTTP_HOST, 127.0.0.1 by default: set
# HTTP_HOST=0.0.0.0 to publish this port. The image does not set it: its variable would override /data/.env.
EXPOSE 8081
# SIGTERM lets the bot finish the sends in flight (10 seconds at most) and commit: `docker stop` waits 10 s by
# default, so give it -t 30 as the systemd unit does.
STOPSIGNAL SIGTERM
# Readiness with the Python already here: /healthz answers 200 while the database answers and every part runs.
# It sees HTTP_PORT when given with -e or --env-file; a port set only in /data/.env is not seen here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8081'), timeout=4)"]
ENTRYPOINT ["referral-bot"]
CMD ["run"]
