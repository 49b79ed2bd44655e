# Release build of the c2c-forum binary on Debian, run as an unprivileged user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin c2c-forum

FROM debian:bookworm-slim
# The SQLite default (`c2c-forum.db` in the working directory) needs a directory the service's
# user may write in: /data, a volume so that the base outlives the container.
RUN useradd --system --uid 10001 c2c && mkdir /data && chown c2c /data && apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/c2c-forum /usr/local/bin/c2c-forum
USER c2c
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENV C2C_BIND=0.0.0.0:8080
ENTRYPOINT ["c2c-forum"]
CMD ["serve"]
