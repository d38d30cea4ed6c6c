"""A generator and a critic on two different backends: the embedded model in process, and
an OpenAI-compatible server as the critic. With no --critic-url, the example starts
llama.cpp's server on 127.0.0.1 with the same SmolLM2 weights (pip install
'llama-cpp-python[server]'), so it runs out of the box.

    python examples/two_backends.py [--critic-url http://HOST:PORT/v1 --critic-name MODEL]
"""

import argparse
import socket
import subprocess
import sys
import time

import httpx

from looplab.agents import Critic, Generator
from looplab.graphs import LoopSetup, critic_loop, run_loop
from looplab.llm import CompletionOptions, LlamaCppModel, OpenAIModel, default_weights_path
from looplab.records import TaskView
from looplab.tools import Calculator


def start_local_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_weights_path()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the local llama.cpp server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--critic-url")
    parser.add_argument("--critic-name", default="smollm2")
    args = parser.parse_args()
    server = None
    url = args.critic_url
    if url is None:
        server, url = start_local_server()
    try:
        generator = Generator(
            LlamaCppModel(), [Calculator()], options=CompletionOptions(max_tokens=150)
        )
        critic = Critic(OpenAIModel(args.critic_name, base_url=url))
        setup = LoopSetup(generator=generator, critic=critic, max_iters=2)
        task = TaskView(id="q", prompt="What is 46 times 7?", family="arithmetic")
        trajectory = run_loop(critic_loop(setup), task)
        print(f"generator: {trajectory.models['generator']}")
        print(f"critic:    {trajectory.models.get('critic')}")
        print(
            f"answers: {[a.answer for a in trajectory.attempts]}; "
            f"verdicts: {[c.verdict for c in trajectory.critiques]}; "
            f"stop: {trajectory.stop_reason}"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
