/** nginx.conf for the Nchan peer: EventSource subscribers and an HTTP publisher, storage in Redis. */
export function nchanConfig(options: {
  modulePath: string;
  dir: string;
  port: number;
  redisUrl: string;
}): string {
  const { modulePath, dir, port, redisUrl } = options;
  return `load_module ${modulePath};
user root;
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream bench_redis {
    nchan_redis_server ${redisUrl};
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /healthz { return 200 "ok"; }
    location ~ ^/sub/([\\w-]+)$ {
      nchan_subscriber eventsource;
      nchan_channel_id $1;
      nchan_redis_pass bench_redis;
    }
    location = /pub {
      nchan_publisher http;
      nchan_channel_id $arg_id;
      nchan_redis_pass bench_redis;
      nchan_message_timeout 10m;
      nchan_message_buffer_length 1000;
    }
  }
}
`;
}
