package org.ipgvalidator.interop.hapi;

import ca.uhn.fhir.rest.client.api.IClientInterceptor;
import ca.uhn.fhir.rest.client.api.IHttpRequest;
import ca.uhn.fhir.rest.client.api.IHttpResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Records every request HAPI's generic client puts on the wire to the terminology server (method, URL,
 * headers, body) with the status of its answer, so the test can compare them with docs/clients.md.
 */
final class RequestRecorder implements IClientInterceptor {
	private final List<Map<String, Object>> recorded = new ArrayList<>();
	private final ThreadLocal<Map<String, Object>> open = new ThreadLocal<>();

	@Override
	public void interceptRequest(IHttpRequest request) {
		Map<String, Object> entry = new LinkedHashMap<>();
		entry.put("method", request.getHttpVerbName());
		entry.put("url", request.getUri());
		Map<String, Object> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
		request.getAllHeaders().forEach((name, values) -> headers.put(name, String.join(", ", values)));
		entry.put("headers", headers);
		try {
			String body = request.getRequestBodyFromStream();
			if (body != null && !body.isEmpty()) {
				entry.put("body", body);
			}
		} catch (IOException e) {
			entry.put("body_error", e.toString());
		}
		synchronized (recorded) {
			recorded.add(entry);
		}
		open.set(entry);
	}

	@Override
	public void interceptResponse(IHttpResponse response) {
		Map<String, Object> entry = open.get();
		if (entry != null) {
			entry.put("status", response.getStatus());
			entry.put("content_type", response.getMimeType());
			open.remove();
		}
	}

	/** The requests seen so far, in the order they were sent. */
	List<Map<String, Object>> requests() {
		synchronized (recorded) {
			return new ArrayList<>(recorded);
		}
	}
}
