import gzip

import httpx

from reserve.chain.jsonrpc import RPC_STATUS_HEADER, RpcErrorTransport


def through(response: httpx.Response) -> httpx.Response:
    transport = RpcErrorTransport(httpx.MockTransport(lambda request: response))
    with httpx.Client(transport=transport, base_url="http://node.test") as client:
        return client.post("/", json={})


def test_an_rpc_error_with_500_becomes_an_answer():
    body = b'{"result": null, "error": {"code": -5, "message": "No such"}, "id": 1}'
    response = through(httpx.Response(500, content=body))
    assert response.status_code == 200
    assert response.headers[RPC_STATUS_HEADER] == "500"
    assert response.content == body


def test_a_bare_500_stays_and_a_compressed_body_is_read_once():
    body = b"<html>Internal Server Error</html>"
    response = through(httpx.Response(500, content=gzip.compress(body), headers={"Content-Encoding": "gzip"}))
    assert response.status_code == 500
    assert response.content == body
    assert RPC_STATUS_HEADER not in response.headers


def test_other_statuses_pass_untouched():
    assert through(httpx.Response(200, content=b'{"result": 1, "error": null, "id": 1}')).status_code == 200
    assert through(httpx.Response(404, content=b"{}")).status_code == 404
