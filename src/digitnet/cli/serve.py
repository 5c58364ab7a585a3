"""`digitnet serve`: the drawing page and its JSON API on a local web server."""
import ipaddress
import os

from ..errors import DigitnetError
from .common import (MODEL_HELP, add_device_argument, check_writable, load_digit_model, model_path, nonempty_path,
                     warn)

INSTALL = "pip install 'digitnet[web]' (in a checkout of digitnet: pip install -e '.[web]')"


def add_parser(sub):
    p = sub.add_parser("serve", help="draw digits in the browser and watch the network read them",
                       description="Serve a page where you draw a digit and see the network's prediction, "
                                   "the 28x28 image it saw and its hidden activations, and a JSON API "
                                   "(/api/predict, /api/model, /api/health; documentation at /docs).")
    p.add_argument("--model", type=nonempty_path, metavar="MODEL",
                   help=MODEL_HELP)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine "
                   "only; 0.0.0.0 opens it to your network)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--collect", type=nonempty_path, metavar="DIR",
                   help="save the drawings users correct (the page's \"wrong?\" "
                   "button) into DIR/LABEL/, to build a test set of your own")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="server processes, each with the model "
                   "(default 1; more answer more requests at once, on more cores)")
    add_device_argument(p, "run the network")
    p.set_defaults(run=run)


def run(args):
    try:
        from ..web import server
        from ..web.app import app_from_environment
    except ImportError as e:
        raise DigitnetError(f"digitnet serve needs the web extra ({e.name} is missing): {INSTALL}") from None
    path = model_path(args.model)
    if not path.exists() and not args.model:
        raise DigitnetError(f"no model at {path}: train one with `digitnet train` (or name one with --model)")
    if not 0 < args.port < 65536:
        raise DigitnetError(f"--port {args.port}: choose a port from 1 to 65535, e.g. 8000")
    if args.workers < 1:
        raise DigitnetError(f"--workers {args.workers}: at least 1")
    load_digit_model(path, device=args.device)           # a bad model file is reported here, once
    if args.collect:                                     # found out now, not at the first correction
        check_writable(args.collect, f"--collect {args.collect}")
    sock = server.listen_on(args.host, args.port, args.workers)
    local = ipaddress.ip_address(sock.getsockname()[0].split("%")[0]).is_loopback     # 127.0.0.1, the default
    os.environ.update(DIGITNET_SERVE_MODEL=str(path), DIGITNET_SERVE_DEVICE=args.device,
                      DIGITNET_SERVE_COLLECT=str(args.collect or ""), DIGITNET_SERVE_LOCAL=str(int(local)))
    host = f"[{args.host}]" if ":" in args.host else args.host          # an IPv6 address goes in brackets
    print(f"digitnet: serving {path} at http://{host}:{args.port}/ (API documentation at /docs); "
          f"Ctrl-C stops it", flush=True)
    if not local:
        saved = f", and save drawings into {args.collect}" if args.collect else ""
        warn(f"digitnet: open to your network: anyone who can reach this machine can use the page and the "
             f"API{saved}; there is no password")
    server.run(f"{app_from_environment.__module__}:app_from_environment", sock, args.workers)
    return 0
