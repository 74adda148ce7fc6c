package org.ipgvalidator.interop.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.parser.LenientErrorHandler;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;

/**
 * Validates one example Bundle in two passes: the Bundle as a HAPI server validates a posted Bundle (base
 * definitions and its declared profiles), then each Procedure and Condition entry against the IPG672 profile
 * of its type, whose required bindings make HAPI ask the terminology server about each code.
 */
final class ExampleValidator {
	static final String BASE = "https://ipg-validator.org/fhir/StructureDefinition/";
	static final Map<String, String> PROFILES = Map.of(
			"Procedure", BASE + "ipg672-procedure",
			"Condition", BASE + "ipg672-condition");
	private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/");

	private final FhirValidator validator;
	private final IParser parser;
	private final IParser writer;

	ExampleValidator(FhirContext context, FhirValidator validator) {
		this.validator = validator;
		this.parser = context.newJsonParser().setParserErrorHandler(new LenientErrorHandler(false));
		this.writer = context.newJsonParser();
	}

	/** The messages of each pass, with locations in the Bundle (Bundle.entry[i].resource...). */
	Map<String, Object> validate(Path file) throws IOException {
		long started = System.nanoTime();
		String text = Files.readString(file, StandardCharsets.UTF_8);
		Map<String, Object> result = new LinkedHashMap<>();
		List<Map<String, Object>> messages = new ArrayList<>();
		for (SingleValidationMessage m : validator.validateWithResult(text).getMessages()) {
			messages.add(message("bundle", null, m));
		}
		Bundle bundle;
		try {
			bundle = (Bundle) parser.parseResource(text);
		} catch (DataFormatException | ClassCastException e) {
			result.put("parse_error", e.getMessage());
			bundle = null;
		}
		List<Map<String, Object>> entries = new ArrayList<>();
		if (bundle != null) {
			for (int i = 0; i < bundle.getEntry().size(); i++) {
				Resource resource = bundle.getEntry().get(i).getResource();
				String profile = resource == null ? null : PROFILES.get(resource.fhirType());
				if (profile == null) {
					continue;
				}
				String prefix = "Bundle.entry[" + i + "].resource";
				ValidationOptions options = new ValidationOptions().addProfile(profile);
				for (SingleValidationMessage m : validator.validateWithResult(writer.encodeResourceToString(resource), options).getMessages()) {
					messages.add(message(profile.substring(BASE.length()), prefix, m));
				}
				entries.add(Map.of("entry", i, "type", resource.fhirType(), "profile", profile));
			}
		}
		result.put("profiled_entries", entries);
		result.put("messages", messages);
		result.put("ms", (System.nanoTime() - started) / 1_000_000);
		return result;
	}

	private static Map<String, Object> message(String pass, String prefix, SingleValidationMessage m) {
		Map<String, Object> out = new LinkedHashMap<>();
		out.put("pass", pass);
		out.put("severity", m.getSeverity() == null ? null : m.getSeverity().getCode());
		out.put("location", location(prefix, m.getLocationString()));
		out.put("message_id", m.getMessageId());
		out.put("text", m.getMessage());
		return out;
	}

	/** HAPI's location without its /*Type/id*&#47; comments, re-rooted in the Bundle for an entry's pass. */
	static String location(String prefix, String location) {
		if (location == null) {
			return null;
		}
		String plain = COMMENT.matcher(location).replaceAll("");
		if (prefix == null) {
			return plain;
		}
		int dot = plain.indexOf('.');
		return dot < 0 ? prefix : prefix + plain.substring(dot);
	}
}
