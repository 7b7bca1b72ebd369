import Testing
@Test func placeholderAllocationTests() { #expect(Bool(true)) }
