package org.ipgvalidator.interop.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.ConceptValidationOptions;
import ca.uhn.fhir.context.support.ValidationSupportContext;
import org.hl7.fhir.common.hapi.validation.support.RemoteTerminologyServiceValidationSupport;

/**
 * One entry of a HAPI JPA server's {@code hapi.fhir.remote_terminology_service} map ({@code system} + {@code url}):
 * the remote server claims that one code system and validates codes of it, while value sets go to it
 * whenever it has them, which is how the server configures its remote supports for named systems.
 */
final class SystemRemoteTerminology extends RemoteTerminologyServiceValidationSupport {
	private final String system;

	SystemRemoteTerminology(FhirContext context, String baseUrl, String system) {
		super(context, baseUrl);
		this.system = system;
	}

	@Override
	public String getName() {
		return "Remote terminology service for " + system;
	}

	@Override
	public boolean isCodeSystemSupported(ValidationSupportContext context, String codeSystem) {
		return system.equalsIgnoreCase(codeSystem);
	}

	@Override
	public CodeValidationResult validateCode(
			ValidationSupportContext context,
			ConceptValidationOptions options,
			String codeSystem,
			String code,
			String display,
			String valueSetUrl) {
		if (!system.equalsIgnoreCase(codeSystem)) {
			return null;
		}
		return super.validateCode(context, options, codeSystem, code, display, valueSetUrl);
	}
}
