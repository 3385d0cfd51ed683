<resource schema="__system">


<!-- ================================ Obscore ===================== -->

	<!-- MUSE GTO data centre: QC columns of ivoa.obscore (README.md, "VO services").
	     After changing them run `musedc vo init`, which refreshes obscore. -->
	<!-- generated from qcservice/vo/obscore_columns.py (the one declaration) -->
	<STREAM id="obscore-extraevents">
		<property name="obscoreClause" cumulate="True">
			,
			@OBSCORE_CLAUSE@
		</property>
	</STREAM>

	<STREAM id="obscore-extrapars">
		@OBSCORE_PARS@
	</STREAM>

	<STREAM id="obscore-extracolumns">
		@OBSCORE_COLUMNS@
	</STREAM>


	<rowmaker id="_test-rmk">
		<!-- test instrumentation -->
		<map key="foo">@bar</map>
	</rowmaker>


<!-- ================================ Registry Interface ============ -->

	<STREAM id="registry-interfacerecords">
		<doc>
			These are services and registry records for the registry interface
			of this service.

			Even if together with defaultmeta, this will just work, keep 
			these elements in your etc/userconfig.rd.

			The metaString macros in here generally point into defaultmeta.
			Replace them with whatever actual text applies to your site;  we
			will work to do away with defaultmeta.txt.
		</doc>

		<resRec id="authority">
			<meta>
				resType: authority
				creationDate: \metaString{authority.creationDate}
				title: \\metaString{authority.title}{UNCONFIGURED}
				shortName: \\metaString{authority.shortName}
				subject: Authority
				managingOrg: \\metaString{publisher}
				referenceURL: \\metaString{authority.referenceURL}{UNCONFIGURED}
				identifier: ivo://\getConfig{ivoa}{authority}
				sets: ivo_managed
			</meta>
			<meta name="description">
				\\metaString{authority.description}{UNCONFIGURED}
			</meta>
		</resRec>

		<service id="registry" allowed="pubreg.xml">
			<registryCore/>
			<publish render="pubreg.xml" sets="ivo_managed">
				<meta name="accessURL"
					>\getConfig{web}{serverURL}\getConfig{web}{nevowRoot}oai.xml</meta>
			</publish>
			<meta name="resType">registry</meta>
			<meta name="title">\getConfig{web}{sitename} Registry</meta>
			<meta name="creationDate">\metaString{authority.creationDate}</meta>
			<meta name="description">
				The publishing registry for the \getConfig{web}{sitename}.
			</meta>
			<meta name="subject">virtual-observatories</meta>
			<meta name="shortName">\\metaString{authority.shortName} RG</meta>
			<meta name="content.type">Archive</meta>
			<meta name="rights">public</meta>
			<meta name="harvest.description">The harvesting interface for 
				the publishing registry of the \getConfig{web}{sitename}</meta>
			<meta name="maxRecords">10000</meta>
			<meta name="managedAuthority">\getConfig{ivoa}{authority}</meta>
			<meta name="publisher">The staff at the \getConfig{web}{sitename}</meta>
		</service>
	</STREAM>

<!-- ============================= TAP ========================== -->

	<STREAM id="tapexamples">
		<meta name="_example" title="MUSE data around a position"><![CDATA[
			Every MUSE product (cubes, images, spectra) within 0.1 degree of Abell 478, with its QA state and PSF FWHM; access_url is the product's DataLink:

			.. tapquery::

				SELECT obs_publisher_did, dataproduct_type, target_name, qa_state, psf_fwhm_7000, access_url
				FROM ivoa.obscore
				WHERE obs_collection = 'MUSE-GTO'
				  AND 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 63.356, 10.466, 0.1))
		]]></meta>
		<meta name="_example" title="Good-seeing MUSE cubes"><![CDATA[
			MUSE cubes whose PSF FWHM at 7000 Angstrom is under 0.8 arcsec, best first:

			.. tapquery::

				SELECT obs_publisher_did, target_name, psf_fwhm_7000, dimm_seeing, t_exptime
				FROM ivoa.obscore
				WHERE obs_collection = 'MUSE-GTO' AND dataproduct_type = 'cube'
				  AND psf_fwhm_7000 < 0.8
				ORDER BY psf_fwhm_7000
		]]></meta>
		<meta name="_example" title="Nights where IFUs failed"><![CDATA[
			Every night with at least one MUSE IFU flagged invalid by QC, with the IFUs and their flags:

			.. tapquery::

				SELECT night, obs_id, ifu, flags
				FROM muse.ifu_status
				WHERE is_valid = 0
				ORDER BY night DESC, ifu
		]]></meta>
		<meta name="_example" title="ObsCore joined with per-IFU QC"><![CDATA[
			Cubes in ivoa.obscore together with the IFUs QC rejected in the exposures and calibrations they were made from (one ADQL query over three tables):

			.. tapquery::

				SELECT o.obs_id, o.target_name, o.qa_state, o.n_valid_ifu, p.role, s.ifu, s.flags
				FROM ivoa.obscore AS o
				JOIN muse.provenance AS p ON p.obs_id = o.obs_id
				JOIN muse.ifu_status AS s ON s.file_id = p.input_file_id
				WHERE o.obs_collection = 'MUSE-GTO' AND s.is_valid = 0
		]]></meta>
		<meta name="_example" title="Night summary"><![CDATA[
			One row per night and instrument mode: how many cubes were published and the median DIMM seeing:

			.. tapquery::

				SELECT night, ins_mode, n_products, n_published, n_ifu_invalid, dimm_seeing_median
				FROM muse.nights
				ORDER BY night DESC
		]]></meta>
		<meta name="_example" title="Master calibrations and their QC"><![CDATA[
			Master biases with their read-out noise per IFU and quadrant (QC1 keywords of the pipeline):

			.. tapquery::

				SELECT i.night AS night, i.ifu AS ifu, m.subunit AS quadrant, m.metric_value AS ron, m.unit AS unit
				FROM muse.inputs AS i
				JOIN muse.metrics AS m ON m.file_id = i.file_id
				WHERE i.catg = 'MASTER_BIAS' AND m.name = 'QC BIAS MASTERi RON'
				ORDER BY night, ifu, quadrant
		]]></meta>
		<meta name="_example" title="Public cubes, best sky subtraction first"><![CDATA[
			Cubes already public (released before 2026), the best sky subtraction first (sky_residual: the residual over what noise alone gives, 1 is noise-limited):

			.. tapquery::

				SELECT obs_publisher_did, ins_mode, airmass, sky_residual, obs_release_date
				FROM ivoa.obscore
				WHERE obs_collection = 'MUSE-GTO' AND dataproduct_type = 'cube'
				  AND obs_release_date < '2026-01-01'
				ORDER BY sky_residual
		]]></meta>
	</STREAM>


	
	<NXSTREAM id="tapdescription">
		<meta name="description">The \\getConfig{web}{sitename}'s TAP end point.  
			The Table Access Protocol (TAP) lets you execute queries against our
			database tables, inspect various metadata, and upload your own
			data.  It is thus the VO's premier way to access public data
			holdings.

			Tables exposed through this endpoint include: \\tablesForTAP.
		</meta>
		<!-- MUSE GTO data centre: the whole site as one base URL with the site's
		     securityMethods (anonymous, HTTP basic), so that a client that learns logins
		     from TAP's capabilities (pyvo's AuthSession, TOPCAT) sends the same
		     credentials to DataLink, SODA, previews and /getproduct, and across the
		     //obscore DataLink redirect. -->
		<publish render="external" sets="local">
			<meta name="accessURL">\\getConfig{web}{serverURL}/</meta>
			<meta name="urlUse">base</meta>
			<meta name="capabilityId">ivo://\\getConfig{ivoa}{authority}/std/site-login</meta>
			<meta name="description">The whole site: every URL below this one (DataLink,
				SODA, previews, /getproduct) takes the same credentials.</meta>
		</publish>
	</NXSTREAM>

	<NXSTREAM id="sitewidesiap2-extras">
		<!-- put any items you want to appear in the //siap2#sitewide
		service definition (in particular, metadata) here; it'd be nice if
		you changed the creationDate, at least, as that might aid
		in debugging. 
		
		You should also add 
		testQuery.pos.ra, testQuery.pos.dec,
		testQuery.size.ra, testQuery.size.dec meta item to  describe a field
		that is guaranteed to return at least one result.
		-->
		<meta name="description">
			The \\getConfig{web}{sitename}'s sitewide SIAP version 2 service 
			publishes all the images published through the site.  For more
			advanced queries including uploads, all this data is also available
			through ObsTAP.
		</meta>
		<meta name="creationDate">2026-11-23T00:00:00</meta>
		<meta name="subject">virtual-observatories</meta>
		<meta name="shortName">\\metaString{authority.shortName} SIA2</meta>
		<meta name="title">\getConfig{web}{sitename} SIAP Version 2 Service</meta>
		<meta name="sia.type">Pointed</meta>
	</NXSTREAM>
</resource>
